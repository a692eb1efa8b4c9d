#!/usr/bin/env bash
# Builds the engine with its CUDA backend (`--features wgpu,cuda`) from package registries only.
# burn-cuda's LLVM->PTX compiler links LLVM 23 with the NVPTX target, which its build would
# download from GitHub; this script installs the same LLVM from PyPI instead
# (mlc-llvm-static[all]==23.1.1.post0, about 90 MB) into a venv in DCLAB_CACHE_HOME, links it
# where the bundler looks, writes the bundler's sentinel (so it downloads nothing), checks that
# NVPTX is built, then runs cargo. Idempotent: a second run reuses the SDK and the target folder.
# The binary needs no CUDA toolkit where it runs: the NVIDIA driver, libstdc++ and
# nvvm/libdevice/libdevice.10.bc under CUDA_PATH (a toolkit's, or the one this script installs
# from NVIDIA's nvidia-nvvm wheel into $DCLAB_CACHE_HOME/cuda; see README, "GPU").
# Usage: toolkit/build-cuda.sh [extra cargo args]
#   CUDARC_CUDA_VERSION  the driver API bindings (default 13000, CUDA 13.0; 12080 for 12.8 drivers)
#   CARGO_TARGET_DIR     default $HOME/.cache/dclab/target, the folder every dclab build shares
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "error: $*" >&2; exit 1; }
pkg='mlc-llvm-static[all]==23.1.1.post0'
nvvm='nvidia-nvvm==13.5.37'  # only for libdevice.10.bc (465 KB of a 75 MB wheel)
bundle=tracel-llvm-23.1.0-4  # the LLVM that tracel-llvm-bundler 23.1.0-4 (in Cargo.lock) asks for
cache="${DCLAB_CACHE_HOME:-$HOME/.cache/dclab}"
venv="$cache/llvm-23.1.1"
start=$(date +%s)

command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
command -v c++ >/dev/null || die "no C++ compiler (c++): burn-cuda's LLVM shims are C++ (apt install g++)"
grep -A1 'name = "tracel-llvm-bundler"' Cargo.lock | grep -q '"23.1.0-4"' \
    || die "Cargo.lock no longer pins tracel-llvm-bundler 23.1.0-4: update \$bundle and \$pkg in $0 together"

# 1. The SDK, in its own venv (pip's wheel cache makes a reinstall cheap).
site() { "$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
if ! "$venv/bin/python" -c 'import mlc_llvm_static' 2>/dev/null || [ ! -f "$(site)/nvidia/cu13/nvvm/libdevice/libdevice.10.bc" ]; then
    [ -x "$venv/bin/pip" ] || python3 -m venv "$venv" || die "python3 -m venv failed (apt install python3-venv)"
    echo "installing $pkg and $nvvm from PyPI into $venv"
    if ! "$venv/bin/pip" install --disable-pip-version-check --quiet "$pkg" "$nvvm"; then
        rm -rf "$venv"
        die "pip could not install $pkg (is PyPI reachable? set PIP_INDEX_URL for a mirror). The cuda feature needs LLVM 23.1 with NVPTX; nothing was built."
    fi
fi
# libdevice where CUDA_PATH can point: $cache/cuda/nvvm/libdevice/libdevice.10.bc
mkdir -p "$cache/cuda"
ln -sfn "$(site)/nvidia/cu13/nvvm" "$cache/cuda/nvvm"
sdk=$("$venv/bin/python" -c 'import mlc_llvm_static as m; print(m.get_prefix())') \
    || die "$venv has mlc_llvm_static without get_prefix(): remove $venv and run again"
[ -x "$sdk/bin/llvm-config" ] || die "no llvm-config in the SDK at $sdk"

# 2. Where the bundler looks (dirs::data_local_dir()), with its sentinel.
data="${XDG_DATA_HOME:-$HOME/.local/share}/tracel"
link="$data/$bundle"
mkdir -p "$data"
if [ -L "$link" ] || [ ! -e "$link" ]; then
    ln -sfn "$sdk" "$link"
elif [ ! -e "$link/.tracel-llvm-installed" ]; then
    die "$link exists and is not a finished LLVM install: remove it and run again"
fi
# Written once: the bundler's build script reruns when the sentinel's mtime changes, and that
# rebuilds cubecl-llvm, burn-cuda and the engine (15 min here).
[ -e "$link/.tracel-llvm-installed" ] || touch "$link/.tracel-llvm-installed"

# 3. NVPTX must be in it, and the version must be 23.1.
version=$("$link/bin/llvm-config" --version)
case "$version" in 23.1.*) ;; *) die "$link holds LLVM $version, not 23.1 (llvm-sys 231 would mis-decode it)";; esac
"$link/bin/llvm-config" --link-static --targets-built | grep -qw NVPTX || die "the LLVM at $link has no NVPTX target"
echo "LLVM $version with NVPTX at $link -> $sdk"

# 4. The engine.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dclab/target}"
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13000}"
cargo build --release -p dclab --bin dclab --features wgpu,cuda "$@"
bin="$CARGO_TARGET_DIR/release/dclab"
"$bin" --version >/dev/null || die "the built binary does not start"
echo "built $bin ($(du -m "$bin" | cut -f1) MB, CUDA bindings $CUDARC_CUDA_VERSION) in $(($(date +%s) - start)) s"
echo "where no CUDA toolkit is installed, run it with CUDA_PATH=$cache/cuda (libdevice)"

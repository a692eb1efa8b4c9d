#!/usr/bin/env bash
# Prepares bench/gpu/run.sh for a GPU machine with no Rust toolchain and no network: builds the
# release binary here with wgpu (DCLAB_FEATURES=cuda adds CUDA, where its build can download
# tracel's LLVM bundle from GitHub), puts it stripped in .devbin/, and downloads the
# Vulkan loader (libvulkan1 and the GL dispatch libraries) as Debian packages into .gl/.
# Carry .devbin/dclab.gz and .gl with the working tree to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dclab/target}"
cargo build --release -p dclab --bin dclab --features "wgpu${DCLAB_FEATURES:+,$DCLAB_FEATURES}"
mkdir -p .devbin
cp "$CARGO_TARGET_DIR/release/dclab" .devbin/dclab
strip .devbin/dclab
gzip -9 -c .devbin/dclab >.devbin/dclab.gz  # about 37 MB: carry this one (the call's limit is 64 MiB)
echo "binary: .devbin/dclab ($(du -h .devbin/dclab | cut -f1)), .devbin/dclab.gz ($(du -h .devbin/dclab.gz | cut -f1))"
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
    mkdir -p .gl /tmp/dclab-apt-amd64/partial
    o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/dclab-apt-amd64)
    apt-get "${o[@]}" update -qq
    (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
echo "Vulkan loader packages: $(ls .gl | tr '\n' ' ')"

#!/usr/bin/env bash
# Prepares bench/gpu/run.sh for a GPU machine with no Rust toolchain and no network: builds the
# release binary here with wgpu and cuda (toolkit/build-cuda.sh, LLVM from PyPI; DCLAB_CUDA=0
# builds wgpu only), puts it stripped and xz-compressed in .devbin/ with libdevice
# (.devbin/cuda/nvvm/libdevice/libdevice.10.bc, for machines without a CUDA toolkit), and
# downloads the Vulkan loader (libvulkan1 and the GL dispatch libraries) as Debian packages
# into .gl/. Carry .devbin/dclab.xz, .devbin/cuda and .gl (64 MiB in all at most).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dclab/target}"
if [ "${DCLAB_CUDA:-1}" = 1 ]; then
    toolkit/build-cuda.sh
    mkdir -p .devbin/cuda/nvvm/libdevice
    cp -L "${DCLAB_CACHE_HOME:-$HOME/.cache/dclab}/cuda/nvvm/libdevice/libdevice.10.bc" .devbin/cuda/nvvm/libdevice/
else
    cargo build --release -p dclab --bin dclab --features wgpu
fi
mkdir -p .devbin
rm -f .devbin/dclab .devbin/dclab.gz .devbin/dclab.xz
cp "$CARGO_TARGET_DIR/release/dclab" .devbin/dclab
strip .devbin/dclab
xz -9 -T0 -k .devbin/dclab
echo "binary: .devbin/dclab ($(du -h .devbin/dclab | cut -f1)), .devbin/dclab.xz ($(du -h .devbin/dclab.xz | cut -f1)): carry the .xz"
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
    mkdir -p .gl /tmp/dclab-apt-amd64/partial
    o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/dclab-apt-amd64)
    apt-get "${o[@]}" update -qq
    (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
echo "Vulkan loader packages: $(ls .gl | tr '\n' ' ')"

# Sourced by run.sh and profile.sh on the GPU machine: the benchmark's shape, unpacking of
# carried binaries, the Vulkan loader and NVRTC's library path.
seq_len=512 batch=16 vocab=8192
unpack() {
    [ -x "$1" ] && return 0
    if [ -f "$1.gz" ]; then gzip -dc "$1.gz" >"$1"
    elif [ -f "$1.xz" ]; then python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1.xz" "$1"
    else echo "error: no $1: run bench/gpu/build.sh on the build machine and carry .devbin" >&2; return 1
    fi
    chmod +x "$1"
}
# The Vulkan loader, unpacked from the carried Debian packages when the machine has none.
if ! ldconfig -p | grep -q 'libvulkan.so.1' && ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
# libdevice for CUDA kernels (their exp, log, tanh): the toolkit's, else the one build.sh carried.
if [ -z "${CUDA_PATH:-}" ] && ! ls /usr/local/cuda/nvvm/libdevice/libdevice.10.bc >/dev/null 2>&1 && [ -f .devbin/cuda/nvvm/libdevice/libdevice.10.bc ]; then
    export CUDA_PATH="$PWD/.devbin/cuda"
fi
# NVRTC (CubeCL's C++ CUDA compiler, not the default LLVM one), from the toolkit or PyTorch's wheels.
nv=$(python3 -c 'import nvidia, os; print(":".join(os.path.join(p, d, "lib") for p in nvidia.__path__ for d in os.listdir(p)))' 2>/dev/null)
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${nv}:${LD_LIBRARY_PATH:-}"

#!/usr/bin/env bash
# GPU training throughput: dclab on cuda and wgpu against PyTorch eager (float32) for AR and
# masked diffusion at about 10M, 50M and 150M parameters, sequence length 512, batch 16; then
# one table (tokens/s, model FLOP utilisation against the card's measured matmul rate, ratio
# to PyTorch). Made for a GPU machine with PyTorch but no Rust toolchain and no network:
# bench/gpu/build.sh builds the binary here into .devbin/ and fetches the Vulkan loader into
# .gl/; carry .devbin/dclab.gz and .gl. About 6 minutes on an H200.
# Usage: bench/gpu/run.sh [output folder]   (default $OUT, else /tmp/dclab-gpu-bench)
set -uo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-${OUT:-/tmp/dclab-gpu-bench}}"
mkdir -p "$dir"
bin="${DCLAB_BIN:-.devbin/dclab}"
[ -x "$bin" ] || { [ -f "$bin.gz" ] && gzip -dc "$bin.gz" >"$bin" && chmod +x "$bin"; }
[ -x "$bin" ] || { echo "error: no $bin: run bench/gpu/build.sh on the build machine and carry .devbin" >&2; exit 1; }
# The Vulkan loader, unpacked from the carried Debian packages when the machine has none.
if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
# NVRTC (CubeCL's CUDA compiler), from the CUDA toolkit or PyTorch's NVIDIA wheels.
nv=$(python3 -c 'import nvidia, os; print(":".join(os.path.join(p, d, "lib") for p in nvidia.__path__ for d in os.listdir(p)))' 2>/dev/null)
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${nv}:${LD_LIBRARY_PATH:-}"
models="384:6:6 640:10:10 1024:16:12"
common=(--seq-len 512 --batch-size 16 --vocab 8192)
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$dir/gpu.txt"
python3 bench/gpu/matmul.py | tee "$dir/matmul.json"
: >"$dir/results.jsonl"
for m in $models; do
    IFS=: read -r d h l <<<"$m"
    for o in ar diffusion; do
        timeout 60 python3 bench/torch_train.py --device cuda --vocab 8192 --d "$d" --heads "$h" --layers "$l" \
            --seq-len 512 --batch 16 --warmup 3 --steps 8 --objective "$o" \
            --tag "{\"backend\": \"torch\", \"model\": \"$m\", \"objective\": \"$o\"}" >>"$dir/results.jsonl" 2>>"$dir/torch.log" \
            || echo "torch $m $o failed" | tee -a "$dir/torch.log"
    done
done
# cuda runs only where the binary was built with it (bench/gpu/build.sh, DCLAB_FEATURES=cuda).
for backend in ${DCLAB_BACKENDS:-wgpu cuda}; do
    if "$bin" bench throughput --device "$backend" --steps 0 2>&1 | grep -q "no $backend backend"; then
        echo "$backend: not in this build of $bin, skipped"
        continue
    fi
    # One process per backend: compiled kernels and autotune results carry over between models.
    timeout "${DCLAB_BENCH_TIMEOUT:-270}" "$bin" bench throughput --device "$backend" --models "${models// /,}" \
        --objectives ar,diffusion "${common[@]}" --warmup 4 --steps 8 2>"$dir/$backend.log" \
        | sed -u "s/^{/{\"backend\":\"$backend\",/" >>"$dir/results.jsonl"
    echo "$backend: exit ${PIPESTATUS[0]}; $(grep -c "\"backend\":\"$backend\"" "$dir/results.jsonl") results; log tail:"
    tail -n 3 "$dir/$backend.log"
done
python3 bench/gpu/table.py "$dir" | tee "$dir/table.md"

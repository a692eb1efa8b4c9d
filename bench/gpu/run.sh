#!/usr/bin/env bash
# GPU training throughput: dclab (wgpu; cuda where built) against PyTorch eager (float32) for AR and
# masked diffusion at about 10M, 50M and 150M parameters, sequence length 512, batch 16; then
# one table (tokens/s, model FLOP utilisation against the card's measured matmul rate, ratio
# to PyTorch). Made for a GPU machine with PyTorch but no Rust toolchain and no network:
# bench/gpu/build.sh builds the binary here into .devbin/ and fetches the Vulkan loader into
# .gl/; carry .devbin/dclab.gz and .gl. 174 s on an H200 (wgpu and PyTorch).
# Usage: bench/gpu/run.sh [output folder]   (default $OUT, else /tmp/dclab-gpu-bench)
# DCLAB_VARIANTS="label=binary:device ..." times other builds side by side (e.g. vulkan).
set -uo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-${OUT:-/tmp/dclab-gpu-bench}}"
mkdir -p "$dir"
# What to time, as label=binary:device; a binary may come compressed as .gz or .xz.
variants="${DCLAB_VARIANTS:-wgpu=.devbin/dclab:wgpu cuda=.devbin/dclab:cuda}"
source bench/gpu/env.sh
models="384:6:6 640:10:10 1024:16:12"
common=(--seq-len "$seq_len" --batch-size "$batch" --vocab "$vocab")
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$dir/gpu.txt"
python3 bench/gpu/matmul.py | tee "$dir/matmul.json"
: >"$dir/results.jsonl"
for m in $models; do
    IFS=: read -r d h l <<<"$m"
    for o in ar diffusion; do
        timeout 60 python3 bench/torch_train.py --device cuda --vocab "$vocab" --d "$d" --heads "$h" --layers "$l" \
            --seq-len "$seq_len" --batch "$batch" --warmup 3 --steps 8 --objective "$o" \
            --tag "{\"backend\": \"torch\", \"model\": \"$m\", \"objective\": \"$o\"}" >>"$dir/results.jsonl" 2>>"$dir/torch.log" \
            || echo "torch $m $o failed" | tee -a "$dir/torch.log"
    done
done
for v in $variants; do
    label="${v%%=*}" bin="${v#*=}" device="${v##*:}"
    bin="${bin%:*}"
    unpack "$bin" || continue
    if "$bin" bench throughput --device "$device" --steps 0 2>&1 | grep -q "no $device backend"; then
        echo "$label: $bin has no $device backend (bench/gpu/build.sh, DCLAB_FEATURES=cuda), skipped"
        continue
    fi
    # One process per variant: compiled kernels and autotune results carry over between models.
    timeout "${DCLAB_BENCH_TIMEOUT:-270}" "$bin" bench throughput --device "$device" --models "${models// /,}" \
        --objectives ar,diffusion "${common[@]}" --warmup 4 --steps 8 2>"$dir/$label.log" \
        | sed -u "s/^{/{\"backend\":\"$label\",/" >>"$dir/results.jsonl"
    echo "$label: exit ${PIPESTATUS[0]}; $(grep -c "\"backend\":\"$label\"" "$dir/results.jsonl") results; log tail:"
    tail -n 3 "$dir/$label.log"
done
python3 bench/gpu/table.py "$dir" | tee "$dir/table.md"

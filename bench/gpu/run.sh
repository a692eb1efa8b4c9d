#!/usr/bin/env bash
# GPU training throughput at the same precision, side by side: dclab on cuda (f32, which
# burn-cuda runs as TF32 tensor-core matmuls and records as tf32, and bf16 mixed precision),
# dclab on wgpu (f32; wgpu has no tensor cores for f32) and PyTorch eager at each precision
# (TF32 on for tf32 rows, bf16 autocast for bf16 rows, TF32 off for f32 rows), plus
# torch.compile where it runs; AR and masked diffusion at about 14M, 54M and 158M parameters,
# sequence length 512, batch 16. First it checks that the same seed's first losses on cuda agree
# with the CPU's, for AR and diffusion. Then one table: tokens/s, MFU against the card's measured matmul rate at
# that precision, ratio to PyTorch eager at that precision.
# Made for a GPU machine with PyTorch but no Rust and no network: bench/gpu/build.sh builds the
# binary here (toolkit/build-cuda.sh) into .devbin/ with libdevice and the Vulkan loader; carry
# .devbin and .gl. Rows are run most important first and the script stops starting rows when
# its budget (DCLAB_GPU_BUDGET seconds, default 440) is spent, listing what it skipped.
# Usage: bench/gpu/run.sh [output folder]   (default $OUT, else /tmp/dclab-gpu-bench)
# DCLAB_VARIANTS="label=binary:device:precision ..." times other builds too (e.g. yesterday's).
set -uo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-${OUT:-/tmp/dclab-gpu-bench}}"
mkdir -p "$dir"
budget="${DCLAB_GPU_BUDGET:-440}"
source bench/gpu/env.sh
bin="${DCLAB_BIN:-.devbin/dclab}"
unpack "$bin" || exit 1
models="384:6:6 640:10:10 1024:16:12"
common=(--seq-len "$seq_len" --batch-size "$batch" --vocab "$vocab")
left() { echo $((budget - SECONDS)); }
: >"$dir/results.jsonl"
: >"$dir/skipped.txt"
# timeout for a row: at most $1 seconds, never past the budget; 0 when too little is left.
limit() { local l; l=$(left); ((l > $1)) && l=$1; ((l < 15)) && l=0; echo "$l"; }
skip() { echo "$*" | tee -a "$dir/skipped.txt"; }

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader | tee "$dir/gpu.txt"
python3 bench/gpu/matmul.py | tee "$dir/matmul.json"

# 1. The same seed on the CPU and on cuda: the first evaluations' losses (a 0.3m model on the
# committed sample, 12 steps), compared by bench/gpu/agree.py.
agree() {  # objective device precision
    local t run="$dir/agree-$1-$2-$3"; t=$(limit 60)
    ((t > 0)) || { skip "agreement $1 $2 $3: budget spent"; return; }
    DCLAB_CACHE="$dir/cache" timeout "$t" "$bin" train --objective "$1" --device "$2" --precision "$3" --model 0.3m --unique-tokens 24576 --epochs 1 \
        --seq-len 128 --batch-size 16 --eval-every 3 --eval-sequences 16 --eval-draws 4 --seed 0 --out "$run" \
        >"$run.log" 2>&1 || { echo "train $1 on $2 $3 failed:"; tail -n 5 "$run.log"; }
}
: >"$dir/agree.md"
for o in ar diffusion; do
    agree "$o" cpu f32
    agree "$o" cuda f32
    agree "$o" cuda bf16
    python3 bench/gpu/agree.py "$dir/agree-$o-cpu-f32" "$dir/agree-$o-cuda-f32" 0.02 | tee -a "$dir/agree.md"
    python3 bench/gpu/agree.py "$dir/agree-$o-cpu-f32" "$dir/agree-$o-cuda-bf16" 0.05 | tee -a "$dir/agree.md"
done

torch_row() {  # precision objective model [compile]
    local p=$1 o=$2 m=$3 c=${4:-} t d h l
    IFS=: read -r d h l <<<"$m"
    t=$(limit "$([ -n "$c" ] && echo 120 || echo 60)")
    ((t > 0)) || { skip "torch${c:+-compile} $p $o $m: budget spent"; return; }
    timeout "$t" python3 bench/torch_train.py --device cuda --vocab "$vocab" --d "$d" --heads "$h" --layers "$l" \
        --seq-len "$seq_len" --batch "$batch" --warmup "$([ -n "$c" ] && echo 4 || echo 3)" --steps 8 --objective "$o" --precision "$p" ${c:+--compile} \
        --tag "{\"backend\": \"torch${c:+-compile}\", \"model\": \"$m\", \"objective\": \"$o\"}" >>"$dir/results.jsonl" 2>>"$dir/torch.log" \
        || echo "torch${c:+-compile} $p $m $o failed or timed out" | tee -a "$dir/torch.log"
}
dclab_rows() {  # label device precision [binary]: one process, so compiled kernels and autotune results carry over
    local label=$1 device=$2 p=$3 b=${4:-$bin} t
    t=$(limit 200)
    ((t > 0)) || { skip "$label $p: budget spent"; return; }
    unpack "$b" || { skip "$label $p: no binary $b"; return; }
    timeout "$t" "$b" bench throughput --device "$device" --precision "$p" --models "${models// /,}" \
        --objectives ar,diffusion "${common[@]}" --warmup 4 --steps 8 2>"$dir/$label-$p.log" \
        | sed -u "s/^{/{\"backend\":\"$label\",/" >>"$dir/results.jsonl"
    echo "$label $p: exit ${PIPESTATUS[0]}; log tail:"; tail -n 3 "$dir/$label-$p.log"
}

# 2. cuda and PyTorch eager at TF32, then bf16; 3. wgpu and PyTorch at f32; 4. torch.compile.
dclab_rows cuda cuda f32
for m in $models; do for o in ar diffusion; do torch_row tf32 "$o" "$m"; done; done
dclab_rows cuda cuda bf16
for m in $models; do for o in ar diffusion; do torch_row bf16 "$o" "$m"; done; done
dclab_rows wgpu wgpu f32
for m in $models; do for o in ar diffusion; do torch_row f32 "$o" "$m"; done; done
for m in 1024:16:12 640:10:10 384:6:6; do for p in bf16 tf32; do for o in ar diffusion; do torch_row "$p" "$o" "$m" compile; done; done; done
# 5. Other builds side by side, if asked: DCLAB_VARIANTS="label=binary:device:precision ..."
for v in ${DCLAB_VARIANTS:-}; do
    IFS=: read -r b device p <<<"${v#*=}"
    dclab_rows "${v%%=*}" "$device" "${p:-f32}" "$b"
done
python3 bench/gpu/table.py "$dir" | tee "$dir/table.md"
echo "run.sh: $SECONDS s (budget $budget s); skipped: $(wc -l <"$dir/skipped.txt") rows"

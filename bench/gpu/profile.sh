#!/usr/bin/env bash
# Where a training step's GPU time goes: CubeCL's own kernel profiler
# (CUBECL_DEBUG_OPTION=profile) over a few steps of one benchmark model on cuda (default) or
# wgpu, summarised by bench/gpu/kernels.py into profile.md (kernel families and the costliest
# kernels). The profiler waits for every kernel, so read shares, not speed. On cuda it also
# dumps each kernel's PTX (CUBECL_CUDA_DUMP_PTX) and counts which matrix instructions the
# chosen matmul kernels use (ptx.md: TF32 or bf16 mma/wgmma, or plain FMA).
# Same machine setup as run.sh: carry .devbin/dclab.xz, .devbin/cuda and .gl. Seconds to a few minutes.
# Usage: bench/gpu/profile.sh [output folder]
#   DCLAB_PROFILE_DEVICE (cuda), DCLAB_PROFILE_PRECISION (f32), DCLAB_PROFILE_MODEL, DCLAB_PROFILE_OBJECTIVE
set -uo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-${OUT:-/tmp/dclab-gpu-profile}}"
mkdir -p "$dir"
source bench/gpu/env.sh
bin="${DCLAB_BIN:-.devbin/dclab}"
unpack "$bin" || exit 1
device="${DCLAB_PROFILE_DEVICE:-cuda}"
log=$(mktemp)  # the raw log holds every kernel's source: large, so it stays on the machine
ptx=$(mktemp -d)
[ "$device" = cuda ] && export CUBECL_CUDA_DUMP_PTX="$ptx"
CUBECL_DEBUG_LOG="$log" CUBECL_DEBUG_OPTION=profile timeout "${DCLAB_PROFILE_TIMEOUT:-300}" \
    "$bin" bench throughput --device "$device" --precision "${DCLAB_PROFILE_PRECISION:-f32}" --models "${DCLAB_PROFILE_MODEL:-1024:16:12}" \
    --objectives "${DCLAB_PROFILE_OBJECTIVE:-ar}" --seq-len "$seq_len" --batch-size "$batch" --vocab "$vocab" --warmup 2 --steps 4 \
    | tee "$dir/profile-throughput.jsonl"
python3 bench/gpu/kernels.py "$log" 25 | tee "$dir/profile.md"
if [ "$device" = cuda ]; then
    {
        echo "PTX files dumped: $(find "$ptx" -type f | wc -l)"
        echo "| instruction | files using it |"; echo "|---|---:|"
        for pat in 'wgmma.mma_async.*tf32' 'wgmma.mma_async.*bf16' 'mma.sync.*tf32' 'mma.sync.*bf16' 'cp.async.bulk.tensor' 'fma.rn.f32'; do
            echo "| \`$pat\` | $(grep -rlE "$pat" "$ptx" 2>/dev/null | wc -l) |"
        done
        echo; echo "files with a matrix instruction (first 20):"
        grep -rlE 'mma' "$ptx" 2>/dev/null | head -20 | xargs -r -n1 basename
    } | tee "$dir/ptx.md"
fi

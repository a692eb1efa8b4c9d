#!/usr/bin/env bash
# Where a training step's GPU time goes on wgpu: CubeCL's own kernel profiler
# (CUBECL_DEBUG_OPTION=profile; Nsight Compute does not see Vulkan kernels) over a few steps of
# one benchmark model, summarised by bench/gpu/kernels.py into profile.md (kernel families and
# the costliest kernels). The profiler waits for every kernel, so read shares, not speed.
# Same machine setup as run.sh: carry .devbin/dclab.gz and .gl. Seconds to a few minutes.
# Usage: bench/gpu/profile.sh [output folder]   (DCLAB_PROFILE_MODEL, DCLAB_PROFILE_OBJECTIVE)
set -uo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-${OUT:-/tmp/dclab-gpu-profile}}"
mkdir -p "$dir"
source bench/gpu/env.sh
bin="${DCLAB_BIN:-.devbin/dclab}"
unpack "$bin" || exit 1
log=$(mktemp)  # the raw log holds every kernel's source: large, so it stays on the machine
CUBECL_DEBUG_LOG="$log" CUBECL_DEBUG_OPTION=profile timeout "${DCLAB_PROFILE_TIMEOUT:-300}" \
    "$bin" bench throughput --device wgpu --models "${DCLAB_PROFILE_MODEL:-1024:16:12}" \
    --objectives "${DCLAB_PROFILE_OBJECTIVE:-ar}" --seq-len "$seq_len" --batch-size "$batch" --vocab "$vocab" --warmup 2 --steps 4 \
    | tee "$dir/profile-throughput.jsonl"
python3 bench/gpu/kernels.py "$log" 25 | tee "$dir/profile.md"

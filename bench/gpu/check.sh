#!/usr/bin/env bash
# One device call on a GPU machine (no Rust, no network; carry .devbin/dclab.xz, .devbin/cuda
# and .gl from bench/gpu/build.sh): does `--device auto` take the CUDA GPU, does a default
# `dclab train` run there end to end, then run.sh's table in what is left of 8 minutes.
# Usage: bench/gpu/check.sh [output folder]   (default $OUT, else /tmp/dclab-gpu-check)
set -uo pipefail
cd "$(dirname "$0")/../.."
dir="${1:-${OUT:-/tmp/dclab-gpu-check}}"
mkdir -p "$dir"
source bench/gpu/env.sh
unpack .devbin/dclab || exit 1
echo "== auto"
.devbin/dclab bench throughput --device auto --models 1m --seq-len 128 --batch-size 8 --vocab 74 --warmup 1 --steps 2 2>&1 | tee "$dir/auto.txt"
echo "== train --device auto (defaults: committed sample, small preset)"
start=$(date +%s)
timeout 150 .devbin/dclab train --device auto --objective diffusion --out "$dir/train-auto" >"$dir/train.log" 2>&1
echo "train: exit $?, $(($(date +%s) - start)) s"; tail -n 3 "$dir/train.log"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print({k: s[k] for k in ("device", "objective", "model", "tokens_per_second", "best_val_loss", "final_val_loss")})' "$dir/train-auto/summary.json"
echo "== throughput"
DCLAB_GPU_BUDGET=$((460 - SECONDS)) bench/gpu/run.sh "$dir/bench"

#!/usr/bin/env bash
# The data benchmark (issue 18): preparing pdlit and a generated ~1 GB corpus for bytes, char
# and bpe:4096 with dclab's token cache and with a nanoGPT-style Python peer, and the peak RSS
# of `dclab train` on a 100k-token budget of each. Run with nothing else running.
# Usage: bench/data/run.sh [--before BIN] [--bytes N]   (results in bench/data/results/)
# DCLAB_FEATURES (e.g. wgpu) builds with the features the test command uses, so nothing rebuilds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
BEFORE=() ; BYTES=1000000000
while [ $# -gt 0 ]; do
    case "$1" in
        --before) BEFORE=(--before "$2"); shift 2 ;;
        --bytes) BYTES="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dclab/target}"
features=(); [ -n "${DCLAB_FEATURES:-}" ] && features=(--features "dclab/$DCLAB_FEATURES")
cargo build --release -p dclab "${features[@]}"
BIN="$CARGO_TARGET_DIR/release/dclab"
bash bench/data/install.sh
PY="${DCLAB_BENCH_VENV:-$HOME/.cache/dclab/bench-venv}/bin/python"
WORK="${DCLAB_BENCH_WORK:-$HOME/.cache/dclab/bench-data}"
FETCHED="$WORK/fetched"
"$BIN" data fetch pdlit --cache "$FETCHED"
"$BIN" data fetch brown --cache "$FETCHED"
GEN="$WORK/gen-$BYTES"
[ -d "$GEN" ] || "$PY" bench/data/make_corpus.py "$FETCHED/corpora/pdlit/texts" "$GEN" "$BYTES"
mkdir -p bench/data/results
OUT="bench/data/results/$(date +%F)-$(hostname).md"
"$PY" bench/data/bench.py --dclab "$BIN" "${BEFORE[@]}" --work "$WORK/run" --cache-corpora "$FETCHED/corpora" --gen "$GEN" --python "$PY" --out "$OUT"
echo "results: $OUT"

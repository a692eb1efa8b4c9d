#!/usr/bin/env bash
# Installs the Python peer of the data benchmark (tokenizers + numpy) into its own venv.
set -euo pipefail
VENV="${DCLAB_BENCH_VENV:-$HOME/.cache/dclab/bench-venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import tokenizers, numpy" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet tokenizers numpy
fi
"$VENV/bin/python" -c "import tokenizers, numpy; print('peer: tokenizers', tokenizers.__version__, 'numpy', numpy.__version__)"

#!/usr/bin/env bash
# Installs PyTorch for the training-throughput reference into a folder outside the checkout
# ($DCLAB_TORCH_SITE, default ~/.cache/dclab/pytorch) if it is not importable there yet.
# PyPI's Linux wheel brings NVIDIA runtime wheels too (several GB); only the CPU path is used.
set -euo pipefail
PY="${PYTHON:-python3}"
SITE="${DCLAB_TORCH_SITE:-$HOME/.cache/dclab/pytorch}"
if PYTHONPATH="$SITE" "$PY" -c "import torch" 2>/dev/null; then
    echo "torch $(PYTHONPATH="$SITE" "$PY" -c 'import torch; print(torch.__version__)') already in $SITE"
    exit 0
fi
"$PY" -m pip install --quiet --target "$SITE" torch==2.15.0 numpy
PYTHONPATH="$SITE" "$PY" -c "import torch; print('installed torch', torch.__version__, 'in', '$SITE')"

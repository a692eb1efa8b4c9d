#!/usr/bin/env bash
# Installs the Python side of the benchmark (numpy + scipy) if it is missing.
set -euo pipefail
PY="${PYTHON:-python3}"
if "$PY" -c "import numpy, scipy" 2>/dev/null; then
    echo "numpy and scipy already installed: $("$PY" -c 'import numpy, scipy; print(numpy.__version__, scipy.__version__)')"
    exit 0
fi
"$PY" -m pip install --quiet numpy scipy
"$PY" -c "import numpy, scipy; print('installed numpy', numpy.__version__, 'scipy', scipy.__version__)"

#!/usr/bin/env bash
# Installs what the notebooks need when it is missing, then exports the environment they run
# in. Source it: `source tests/notebooks/setup.sh`. Installs: a Python venv with JupyterLab,
# nbclient and plotly (binder/requirements.txt) in ~/.cache/dclab/jupyter; rust-src; the evcxr
# Jupyter kernel (cargo install, about 11 minutes the first time on 2 cores).
# The caller's -e, -u and pipefail are restored at the end: a sourcing script keeps its own
# options. (Not with "$(set +o)": a command substitution does not inherit -e, so that records
# errexit as off and turned it off in tests/run, which then ran on past a failing notebook.)
_dclab_opts=""
case $- in *e*) _dclab_opts="${_dclab_opts}e";; esac
case $- in *u*) _dclab_opts="${_dclab_opts}u";; esac
[ -o pipefail ] && _dclab_opts="${_dclab_opts}p"
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${DCLAB_JUPYTER_VENV:-$HOME/.cache/dclab/jupyter}"
if [ ! -x "$venv/bin/jupyter" ] || ! "$venv/bin/python" -c "import nbclient, plotly" 2>/dev/null; then
  python3 -m venv "$venv" || { echo "error: the notebook tests need Python 3 with venv (Debian: apt install python3-venv)" >&2; return 1 2>/dev/null || exit 1; }
  "$venv/bin/pip" install -q -r "$repo/binder/requirements.txt"
fi
export PATH="$venv/bin:$HOME/.cargo/bin:$PATH"
rustup component list --installed 2>/dev/null | grep -q '^rust-src' || rustup component add rust-src
command -v evcxr_jupyter >/dev/null || cargo install --locked evcxr_jupyter@0.22.0
jupyter kernelspec list 2>/dev/null | grep -q '^ *rust ' || evcxr_jupyter --install
export EVCXR_TMPDIR="${EVCXR_TMPDIR:-$HOME/.cache/dclab/evcxr-build}"
mkdir -p "$EVCXR_TMPDIR"
export LD_LIBRARY_PATH="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
case $_dclab_opts in *e*) ;; *) set +e;; esac
case $_dclab_opts in *u*) ;; *) set +u;; esac
case $_dclab_opts in *p*) ;; *) set +o pipefail;; esac
unset _dclab_opts

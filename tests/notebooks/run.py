"""Executes every notebook in notebooks/ with the evcxr kernel (nbclient), top to bottom.

Fails on any cell error (raised, or an error output evcxr reported as ok) and when a notebook
lacks the rich outputs it promises in its metadata (`dclab.expects`: "plotly" for
application/vnd.plotly.v1+json, "html" for text/html). All notebooks share one evcxr build
directory (EVCXR_TMPDIR) so the toolkit and its dependencies compile once. Writes executed
copies and a timing table to --out.

Usage: python run.py [--out DIR] [NOTEBOOK ...]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
MIMES = {"plotly": "application/vnd.plotly.v1+json", "html": "text/html"}


def outputs_by_mime(nb):
    seen = set()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            seen.update(out.get("data", {}).keys())
    return seen


def first_error(nb):
    """The first error output, if any. evcxr reports some failures (a variable it cannot
    persist, for one) as an error output with an "ok" reply, which nbclient does not raise."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell {i}: {out.get('ename')}: {out.get('evalue', '').splitlines()[0] if out.get('evalue') else ''}"
    return None


def kernel_env():
    """evcxr's code libraries link libstd dynamically with an rpath that is wrong when the
    build directory sits under the same home as rustup (cargo computes it from deps/, evcxr
    loads the copy one level up): point the loader at the toolchain's libstd instead."""
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout.strip()
    host = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    triple = next(l.split(": ")[1] for l in host.splitlines() if l.startswith("host: "))
    lib = f"{sysroot}/lib/rustlib/{triple}/lib"
    os.environ["LD_LIBRARY_PATH"] = lib + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else "")
    os.environ.setdefault("EVCXR_TMPDIR", str(Path.home() / ".cache/dclab/evcxr-build"))
    Path(os.environ["EVCXR_TMPDIR"]).mkdir(parents=True, exist_ok=True)


def main():
    kernel_env()
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path.home() / ".cache/dclab/notebooks-executed"))
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    ap.add_argument("notebooks", nargs="*")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in a.notebooks] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    failures, rows = [], []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, kernel_name="rust", timeout=a.timeout, resources={"metadata": {"path": str(path.parent)}})
        started = time.time()
        try:
            client.execute()
            error = None
        except CellExecutionError as e:
            error = str(e).splitlines()[-1] if str(e) else "cell error"
        seconds = time.time() - started
        error = error or first_error(nb)
        nbformat.write(nb, out / path.name)
        expects = nb.metadata.get("dclab", {}).get("expects", [])
        missing = [k for k in expects if MIMES[k] not in outputs_by_mime(nb)]
        if error:
            failures.append(f"{path.name}: {error}")
        elif missing:
            failures.append(f"{path.name}: no {', '.join(missing)} output")
        rows.append({"notebook": path.name, "seconds": round(seconds, 1), "ok": not error and not missing})
        print(f"{path.name}: {seconds:.1f} s {'ok' if rows[-1]['ok'] else 'FAILED'}", flush=True)
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    (out / "timings.json").write_text(json.dumps({"notebooks": rows, "peak_child_rss_kb": children_kb}, indent=1))
    for f in failures:
        print("FAILED", f, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

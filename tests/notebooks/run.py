"""Executes every notebook in notebooks/ with the evcxr kernel (nbclient), top to bottom.

Fails on any cell error (raised, or an error output evcxr reported as ok), when the kernel
dies, and when a notebook lacks the rich outputs it promises in its metadata (`dclab.expects`:
"plotly" for application/vnd.plotly.v1+json, "html" for text/html). All notebooks share one
evcxr build directory (EVCXR_TMPDIR) so the toolkit and its dependencies compile once.

Memory: each notebook runs in a child runner (`run.py --single`) started inside a fresh memory
cgroup (cgroup v1 `memory.limit_in_bytes`, else v2 `memory.max`; needs root), so the runner,
the kernel and everything it starts (the dclab engine) share one limit, as on Binder (2 GiB
cap). Limit: --memory-limit-gib, or the notebook's `dclab.memory_limit_gib`. Afterwards the
group's peak (v1 `max_usage_in_bytes`, v2 `memory.peak`; page cache included), failcnt and
oom_kill count are read; a notebook with oom_kill > 0 fails as killed by the memory cgroup.
Without a writable cgroup the notebooks run unconfined and peaks are null.

Time: the child records every code cell's wall time (nbclient's on_cell_start and
on_cell_executed hooks) and sets DCLAB_LAB_LOG so the bindings log each engine call's start and
end; a cell's overhead is its wall time minus the engine's time inside it. Reported: the `:dep`
cell, the first code cell after it, and the largest overhead of the later cells.
Writes executed copies and timings.json to --out, prints one line per notebook and a markdown
table at the end, and exits 1 on any failure.

Usage: python run.py [--out DIR] [--timeout S] [--memory-limit-gib G] [NOTEBOOK ...]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
MIMES = {"plotly": "application/vnd.plotly.v1+json", "html": "text/html"}
GIB = 2**30
V1, V2 = Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup")


def outputs_by_mime(nb):
    return {k for cell in nb.cells for out in cell.get("outputs", []) for k in out.get("data", {})}


def first_error(nb):
    """The first error output, if any. evcxr reports some failures (a variable it cannot
    persist, for one) as an error output with an "ok" reply, which nbclient does not raise;
    and a `?` on an error is a quiet early return with an "ok" reply, so the bindings print
    `Error: ...` on stdout, which counts as an error too."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell {i}: {out.get('ename')}: {out.get('evalue', '').splitlines()[0] if out.get('evalue') else ''}"
            if out.get("output_type") == "stream":
                text = "".join(out.get("text", ""))
                line = next((l for l in text.splitlines() if l.startswith("Error: ")), None)
                if line:
                    return f"cell {i}: {line}"
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


# --- memory cgroup (v1, else v2, else none) ---

def cgroup_create(name, limit):
    """A new memory cgroup limited to `limit` bytes: (version, folder), or None."""
    for version, base, files in ((1, V1, ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]), (2, V2, ["memory.max"])):
        if not (base / (files[0] if version == 1 else "cgroup.controllers")).exists():
            continue
        path = base / name
        try:
            if version == 2 and "memory" not in (base / "cgroup.subtree_control").read_text().split():
                (base / "cgroup.subtree_control").write_text("+memory")
            path.mkdir()
        except OSError:
            continue
        try:
            (path / files[0]).write_text(str(limit))
            # memsw (memory + swap) after the limit, and only with swap on: it keeps failcnt at 0
            swap = not Path("/proc/swaps").exists() or len(Path("/proc/swaps").read_text().splitlines()) > 1
            if version == 1 and swap and (path / files[1]).exists():
                (path / files[1]).write_text(str(limit))
            return version, path
        except OSError:
            cgroup_remove((version, path))
    return None


def cgroup_stats(cg):
    read = lambda f: (cg[1] / f).read_text() if (cg[1] / f).exists() else ""
    if cg[0] == 1:
        events = dict(l.split() for l in read("memory.oom_control").splitlines() if len(l.split()) == 2)
        peak, failcnt = read("memory.max_usage_in_bytes"), read("memory.failcnt")
    else:
        events = dict(l.split() for l in read("memory.events").splitlines() if len(l.split()) == 2)
        peak, failcnt = read("memory.peak"), events.get("max", "")
    num = lambda s: int(s) if s.strip().isdigit() else None
    return {"peak_bytes": num(peak), "failcnt": num(failcnt), "oom_kill": num(events.get("oom_kill", ""))}


def cgroup_remove(cg):
    """rmdir, retrying while the last processes exit; kills what the notebook left behind."""
    for attempt in range(40):
        try:
            cg[1].rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            try:  # still busy after 2 s: kill what this notebook started and left running
                for pid in (cg[1] / "cgroup.procs").read_text().split() if attempt == 20 else []:
                    os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
            time.sleep(0.1)
    print(f"warning: could not remove {cg[1]}", file=sys.stderr)


# --- child: run one notebook, time its cells ---

def run_single(path, out, timeout, result_file):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    log = Path(tempfile.mkstemp(prefix="dclab-lab-log-", suffix=".jsonl")[1])
    os.environ["DCLAB_LAB_LOG"] = str(log)
    nb = nbformat.read(path, as_version=4)
    spans = {}  # code cell index -> [start, end] (Unix seconds, the clock the engine log uses)

    def start(cell, cell_index):
        if cell.cell_type == "code" and cell.source.strip():
            spans[cell_index] = [time.time(), None]

    def done(cell, cell_index, execute_reply):
        spans[cell_index][1] = time.time()

    client = NotebookClient(nb, kernel_name="rust", timeout=timeout, resources={"metadata": {"path": str(path.parent)}},
                            on_cell_start=start, on_cell_executed=done)
    started, error, dead = time.time(), None, False
    try:
        client.execute()
    except CellExecutionError as e:
        error = str(e).splitlines()[-1] if str(e) else "cell error"
    except DeadKernelError:
        error, dead = "kernel died", True
    except Exception as e:  # a cell timeout, a kernel that does not start
        error = f"{type(e).__name__}: {e}"
    ended = time.time()
    nbformat.write(nb, out / path.name)
    calls = [json.loads(l) for l in log.read_text().splitlines() if l.strip().startswith("{")]
    log.unlink()
    cells = []
    for i, (t0, t1) in sorted(spans.items()):
        t1 = t1 or ended  # the cell that failed
        engine = sum((max(0.0, min(c["end"], t1) - max(c["start"], t0)) for c in calls), 0.0)  # overlap with the cell
        cells.append({"index": i, "seconds": round(t1 - t0, 3), "engine_seconds": round(engine, 3), "overhead_seconds": round(t1 - t0 - engine, 3)})
    dep = next((k for k, c in enumerate(cells) if nb.cells[c["index"]].source.lstrip().startswith(":dep")), None)
    first = 0 if dep is None else dep + 1
    later = [c["overhead_seconds"] for c in cells[first + 1:]]
    expects = nb.metadata.get("dclab", {}).get("expects", [])
    missing = [k for k in expects if MIMES[k] not in outputs_by_mime(nb)]
    error = error or first_error(nb) or (f"no {', '.join(missing)} output" if missing else None)
    result_file.write_text(json.dumps({
        "seconds": round(ended - started, 1), "error": error, "dead_kernel": dead, "cells": cells,
        "dep_seconds": cells[dep]["seconds"] if dep is not None else None,
        "first_cell_seconds": cells[first]["seconds"] if first < len(cells) else None,
        "max_later_overhead_seconds": max(later) if later else None}))


# --- parent: one child per notebook, each in its own cgroup ---

def run_confined(path, a, warned):
    nb = nbformat.read(path, as_version=4)
    limit = int(float(nb.metadata.get("dclab", {}).get("memory_limit_gib", a.memory_limit_gib)) * GIB)
    cg = cgroup_create(f"dclab-nb-{os.getpid()}-{path.stem}", limit)
    if cg is None and not warned:
        print("no memory cgroup: peaks not measured (needs root and cgroup v1 or v2)", flush=True)
    result_file = Path(tempfile.mkstemp(prefix="dclab-nb-", suffix=".json")[1])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--single", str(path), "--out", a.out, "--timeout", str(a.timeout), "--result", str(result_file)]
    if cg:
        cmd = ["sh", "-c", f'echo $$ > {cg[1]}/cgroup.procs && exec "$@"', "sh"] + cmd
    started = time.time()
    try:
        rc = subprocess.run(cmd).returncode
        stats = cgroup_stats(cg) if cg else {"peak_bytes": None, "failcnt": None, "oom_kill": None}
    finally:
        if cg:
            cgroup_remove(cg)
    wall = time.time() - started
    r = json.loads(result_file.read_text() or "null") or {"seconds": round(wall, 1), "error": f"runner exited with {rc}", "dead_kernel": True, "cells": [],
                                                         "dep_seconds": None, "first_cell_seconds": None, "max_later_overhead_seconds": None}
    result_file.unlink()
    gib = lambda b: f"{b / GIB:.2f} GiB" if b is not None else "not measured"
    if stats["oom_kill"] or (r["dead_kernel"] and cg and stats["oom_kill"] is None):  # None: a kernel without the count
        r["error"] = f"killed by the memory cgroup (limit {gib(limit)}, peak {gib(stats['peak_bytes'])})"
    elif r["dead_kernel"] and cg:
        r["error"] += f" (limit {gib(limit)}, peak {gib(stats['peak_bytes'])}, no OOM kill)"
    row = {"notebook": path.name, "seconds": r["seconds"], "ok": not r["error"], "error": r["error"], "dep_seconds": r["dep_seconds"],
           "first_cell_seconds": r["first_cell_seconds"], "cells": r["cells"], "max_later_overhead_seconds": r["max_later_overhead_seconds"],
           **stats, "memory_limit_bytes": limit if cg else None}
    s = lambda v: f"{v:.1f} s" if v is not None else "n/a"
    print(f"{path.name}: {r['seconds']:.1f} s {'ok' if row['ok'] else 'FAILED'} (dep {s(row['dep_seconds'])}, first cell {s(row['first_cell_seconds'])}, "
          f"later overhead max {s(row['max_later_overhead_seconds'])}, peak {gib(stats['peak_bytes'])})", flush=True)
    return row, cg is not None


def table(rows):
    cols = ["notebook", "seconds", "ok", "dep_seconds", "first_cell_seconds", "max_later_overhead_seconds", "peak_bytes", "failcnt", "oom_kill", "memory_limit_bytes"]
    fmt = lambda k, v: ("ok" if v else "FAILED") if k == "ok" else "" if v is None else f"{v / GIB:.2f} GiB" if k.endswith("_bytes") \
        else f"{v:.1f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    return "\n".join(lines + ["| " + " | ".join(fmt(k, r[k]) for k in cols) + " |" for r in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path.home() / ".cache/dclab/notebooks-executed"))
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    ap.add_argument("--memory-limit-gib", type=float, default=2.0, help="memory cgroup limit per notebook (Binder: 2)")
    ap.add_argument("--single", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("notebooks", nargs="*")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    if a.single:
        return run_single(Path(a.single), out, a.timeout, Path(a.result))
    kernel_env()
    paths = [Path(p).resolve() for p in a.notebooks] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    started, rows, warned = time.time(), [], False
    for path in paths:
        row, confined = run_confined(path, a, warned)
        warned = warned or not confined
        rows.append(row)
    (out / "timings.json").write_text(json.dumps({"notebooks": rows, "total_seconds": round(time.time() - started, 1)}, indent=1))
    print("\n" + table(rows))
    failures = [f"{r['notebook']}: {r['error']}" for r in rows if not r["ok"]]
    for f in failures:
        print("FAILED", f, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

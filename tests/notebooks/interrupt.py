"""Interrupting a notebook cell stops the engine it started, and rerunning the cell resumes.

Starts the evcxr kernel, runs a training job through the bindings, interrupts the kernel while
the engine trains (evcxr kills its worker process), and fails unless the engine process is gone
within 10 s; then reruns the cell and fails unless the engine resumed from its checkpoint.
Needs the environment of setup.sh and DCLAB_BIN. Usage: python interrupt.py
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def main():
    out = tempfile.mkdtemp(prefix="dclab-interrupt-")
    shutil.rmtree(out)
    km, kc = start_new_kernel(kernel_name="rust", cwd=str(NOTEBOOKS))

    def run(code, timeout=600):
        msg, text = kc.execute(code), []
        while True:
            m = kc.get_iopub_msg(timeout=timeout)
            if m["parent_header"].get("msg_id") != msg:
                continue
            if m["msg_type"] == "stream":
                text.append(m["content"]["text"])
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                return "".join(text)

    def engine():
        ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        return [l for l in ps.splitlines() if "dclab train" in l and out in l]

    try:
        setup = ':dep dclab-lab = { path = "../toolkit/lab" }\n'
        cell = f'use dclab_lab::*;\nlet r = Lab::new()?.run(Train::ar().model("1m").epochs(2.0).eval_every(20).out("{out}"))?;\nr'
        run(setup)
        kc.execute(cell)
        started = time.time()
        while not os.path.exists(f"{out}/checkpoints/last/state.json"):
            if time.time() - started > 300:
                sys.exit("interrupt: the engine wrote no checkpoint in 300 s")
            time.sleep(0.2)
        if not engine():
            sys.exit("interrupt: no engine process while the cell runs")
        km.interrupt_kernel()
        t = time.time()
        while engine() and time.time() - t < 10:
            time.sleep(0.1)
        if engine():
            sys.exit(f"interrupt: the engine kept running 10 s after the interrupt: {engine()}")
        gone = time.time() - t
        run(setup)  # the interrupt restarted evcxr's worker: its dependencies are gone
        text = run(cell)
        if "resuming from" not in text:
            sys.exit(f"interrupt: the rerun did not resume:\n{text}")
        print(f"interrupt: the engine stopped {gone:.1f} s after the interrupt; the rerun resumed ({[l for l in text.splitlines() if 'resuming' in l][0]})")
    finally:
        km.shutdown_kernel(now=True)
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()

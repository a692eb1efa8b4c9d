"""Prints the GPU benchmark's table from run.sh's output folder: tokens/s per backend and
precision, model FLOP utilisation against the card's measured matmul rate at that precision
(f32, TF32 or bf16), and the ratio to PyTorch eager at the same precision."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
try:
    mm = json.loads((out / "matmul.json").read_text())
except (OSError, ValueError) as e:  # matmul.py needs PyTorch on the GPU: without it MFU is unknown
    print(f"no measured matmul rate ({e}): MFU is not computed")
    mm = {"gpu": "unknown", "torch": "none", "f32_flops": float("nan"), "tf32_flops": float("nan"), "bf16_flops": float("nan")}
rows = [json.loads(l) for l in (out / "results.jsonl").read_text().splitlines() if l.strip().startswith("{")]
rate = {"f32": mm["f32_flops"], "tf32": mm["tf32_flops"], "bf16": mm["bf16_flops"]}
key = lambda r: (r["model"], r["objective"], r["precision"])
eager = {key(r): r for r in rows if r["backend"] == "torch"}
flops = {(r["model"], r["objective"]): r["flops_per_token"] for r in rows if "flops_per_token" in r}
for r in rows:  # the PyTorch rows take the FLOPs per token of the same model from dclab's rows
    r.setdefault("flops_per_token", flops.get((r["model"], r["objective"]), float("nan")))
print(f"card: {mm['gpu']}; measured 8192^3 matmul: f32 {mm['f32_flops']/1e12:.1f}, tf32 {mm['tf32_flops']/1e12:.1f}, "
      f"bf16 {mm['bf16_flops']/1e12:.1f} TFLOP/s; torch {mm['torch']}")
print("MFU = tokens/s x FLOPs/token (6(N_nonemb + dV) + 12 L d S) / the measured matmul rate at the row's precision")
for f in ("agree.md", "skipped.txt"):
    if (out / f).exists() and (out / f).read_text().strip():
        print(f"\n{f}:\n" + (out / f).read_text().strip())
print()
print("| model | params | objective | precision | backend | tokens/s | MFU | vs PyTorch eager |")
print("|---|---:|---|---|---|---:|---:|---:|")
order = {"torch": 0, "torch-compile": 1, "cuda": 2, "wgpu": 3}
prec = {"f32": 0, "tf32": 1, "bf16": 2}
for r in sorted(rows, key=lambda r: (r["params"], r["objective"], prec.get(r["precision"], 9), order.get(r["backend"], 9))):
    peer = eager.get(key(r))
    ratio = f"{r['tokens_per_second'] / peer['tokens_per_second']:.2f}x" if peer and r is not peer else ("1.00x" if peer else "n/a")
    mfu = r["tokens_per_second"] * r["flops_per_token"] / rate[r["precision"]]
    print(f"| {r['model']} | {r['params']/1e6:.1f}M | {r['objective']} | {r['precision']} | {r['backend']} | "
          f"{r['tokens_per_second']:,.0f} | {100*mfu:.1f}% | {ratio} |")
ours = {(r["backend"], r["precision"]) for r in rows if not r["backend"].startswith("torch")}
missing = [f"{b} {p} {m} {o}" for (m, o, p) in eager for (b, bp) in sorted(ours) if bp == p
           and not any(r["backend"] == b and key(r) == (m, o, p) for r in rows)]
if missing:
    print("\nno result (failed or timed out; see the logs):", ", ".join(missing))

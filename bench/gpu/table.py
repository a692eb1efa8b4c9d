"""Prints the GPU benchmark's table from run.sh's output folder: tokens/s per backend, model
FLOP utilisation against the measured float32 matmul rate, and the ratio to PyTorch eager."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
mm = json.loads((out / "matmul.json").read_text())
rows = [json.loads(l) for l in (out / "results.jsonl").read_text().splitlines() if l.strip().startswith("{")]
torch = {(r["model"], r["objective"]): r for r in rows if r["backend"] == "torch"}
ours = {(r["model"], r["objective"]): r for r in rows if r["backend"] != "torch"}
for r in rows:  # the PyTorch rows take the FLOPs per token of the same model from dclab's rows
    r.setdefault("flops_per_token", ours.get((r["model"], r["objective"]), {}).get("flops_per_token", float("nan")))
print(f"card: {mm['gpu']}; measured 8192^3 matmul: f32 {mm['f32_flops']/1e12:.1f}, tf32 {mm['tf32_flops']/1e12:.1f}, "
      f"bf16 {mm['bf16_flops']/1e12:.1f} TFLOP/s; torch {mm['torch']}")
print("MFU = tokens/s x FLOPs/token (6(N_nonemb + dV) + 12 L d S) / measured f32 rate")
print()
print("| model | params | objective | backend | tokens/s | MFU (f32) | vs PyTorch |")
print("|---|---:|---|---|---:|---:|---:|")
order = {"torch": 0, "cuda": 1, "wgpu": 2, "vulkan": 3}
for r in sorted(rows, key=lambda r: (r["params"], r["objective"], order.get(r["backend"], 9))):
    peer = torch.get((r["model"], r["objective"]))
    ratio = f"{r['tokens_per_second'] / peer['tokens_per_second']:.2f}x" if peer else "n/a"
    mfu = r["tokens_per_second"] * r["flops_per_token"] / mm["f32_flops"]
    print(f"| {r['model']} | {r['params']/1e6:.1f}M | {r['objective']} | {r['backend']} | "
          f"{r['tokens_per_second']:,.0f} | {100*mfu:.1f}% | {ratio} |")
backends = {r["backend"] for r in rows} - {"torch"}
missing = [f"{b} {m} {o}" for (m, o) in torch for b in sorted(backends)
           if not any(r["backend"] == b and r["model"] == m and r["objective"] == o for r in rows)]
if missing:
    print("\nno result (failed or timed out; see the logs):", ", ".join(missing))

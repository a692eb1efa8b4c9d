"""Do two runs of the same seed agree? Compares the train and validation losses of their
metrics.csv row by row (same steps) and prints one Markdown line: the largest difference, the
tolerance, and PASS or FAIL. Usage: python3 agree.py RUN_A RUN_B TOLERANCE"""
import csv
import sys
from pathlib import Path


def rows(run):
    with open(Path(run) / "metrics.csv", newline="") as f:
        return {int(r["step"]): r for r in csv.DictReader(f)}


def main():
    a_dir, b_dir, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
    try:
        a, b = rows(a_dir), rows(b_dir)
    except OSError as e:
        print(f"- {Path(b_dir).name} vs {Path(a_dir).name}: no result ({e})")
        return
    steps = sorted(set(a) & set(b))
    if not steps:
        print(f"- {Path(b_dir).name} vs {Path(a_dir).name}: no common steps")
        return
    diffs = [(abs(float(a[s][k]) - float(b[s][k])), s, k) for s in steps for k in ("train_loss", "val_loss")]
    worst = max(diffs)
    verdict = "PASS" if worst[0] <= tol else "FAIL"
    print(f"- {Path(b_dir).name} vs {Path(a_dir).name}: steps {steps}; largest |difference| {worst[0]:.2e} nats/token "
          f"({worst[2]} at step {worst[1]}); tolerance {tol}: {verdict}")


if __name__ == "__main__":
    main()

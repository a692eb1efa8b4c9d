"""Summarises CubeCL's kernel profile (the table it writes with CUBECL_DEBUG_OPTION=profile to
the CUBECL_DEBUG_LOG file): the costliest kernels and the time per kernel family, as Markdown.
Usage: python3 kernels.py LOG [TOP]"""
import re
import sys
from collections import defaultdict

UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(text):
    m = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", text.strip())
    return float(m.group(1)) * UNITS[m.group(2)] if m else None


def last_table(lines):
    """Rows (name, seconds, calls) of the last profile table in the log."""
    rows, table = [], []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[-1].endswith("%") and cells[-2].isdigit() and seconds(cells[-3]) is not None:
            # CubeCL prints a kernel's generic arguments as extra cells: keep the telling ones.
            keep = [c for c in cells[1:-3] if re.search(r"(Args|Family|Partitioner|Op)$|^(Max|Min|Sum|Mean|Prod|ArgMax|ArgMin)$", c)]
            name = " ".join([re.sub(r"_[0-9a-f]{8}$", "", cells[0])] + keep)
            tag = re.search(r"_([0-9a-f]{8})$", cells[-4])
            name += f" #{tag.group(1)}" if tag else ""
            if name == "Total":
                rows, table = table, []
            else:
                table.append((name, seconds(cells[-3]), int(cells[-2])))
    return rows or table


def main():
    rows = last_table(open(sys.argv[1], encoding="utf-8", errors="replace"))
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    total = sum(r[1] for r in rows)
    if not rows:
        sys.exit("no profile table in " + sys.argv[1])
    families = defaultdict(lambda: [0.0, 0])
    for name, t, n in rows:
        family = re.sub(r" #[0-9a-f]{8}$", "", name)
        families[family][0] += t
        families[family][1] += n
    print(f"GPU time profiled: {total:.3f} s in {sum(r[2] for r in rows)} launches of {len(rows)} kernels\n")
    print("| kernel family | seconds | launches | share |\n|---|---:|---:|---:|")
    for fam, (t, n) in sorted(families.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"| {fam} | {t:.4f} | {n} | {100 * t / total:.1f}% |")
    print(f"\n| kernel (top {top}) | seconds | launches | share |\n|---|---:|---:|---:|")
    for name, t, n in sorted(rows, key=lambda r: -r[1])[:top]:
        print(f"| {name} | {t:.4f} | {n} | {100 * t / total:.1f}% |")


if __name__ == "__main__":
    main()

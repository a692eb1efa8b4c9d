"""Writes a deterministic ~1 GB corpus of .txt files mixed from the fetched pdlit texts.

Paragraphs (blank-line separated) of every pdlit work are drawn with a seeded generator and
written in runs, so the corpus is as large as asked while its documents (>= 2 KB of
consecutive paragraphs) are unique and it keeps English text statistics.
Usage: make_corpus.py TEXTS_DIR OUT_DIR [TOTAL_BYTES]
"""
import os
import random
import sys

texts, out = sys.argv[1], sys.argv[2]
total = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000_000
file_bytes = 8_000_000
paragraphs = []
for name in sorted(os.listdir(texts)):
    with open(os.path.join(texts, name), encoding="utf-8") as f:
        paragraphs += [p.strip("\n") for p in f.read().split("\n\n") if p.strip()]
rng = random.Random(2507_15857)
os.makedirs(out, exist_ok=True)
written, k = 0, 0
while written < total:
    parts, size = [], 0
    while size < min(file_bytes, total - written):
        i = rng.randrange(len(paragraphs))
        run = paragraphs[i : i + rng.randint(1, 6)]
        parts += run
        size += sum(len(p) + 2 for p in run)
    body = "\n\n".join(parts) + "\n"
    with open(os.path.join(out, f"mix-{k:04d}.txt"), "w", encoding="utf-8") as f:
        f.write(body)
    written += len(body.encode("utf-8"))
    k += 1
print(f"{k} files, {written} bytes in {out}")

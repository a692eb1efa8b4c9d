"""The peer: nanoGPT-style preparation with Hugging Face `tokenizers` and numpy.

Reads each .txt file, cuts it at blank lines into pieces of >= 2 KB, encodes them in batches
with the same tokenizer.json dclab trained, and appends the ids as a flat uint16 (or uint32)
file, as nanoGPT's prepare.py does. Usage: peer_prepare.py TEXTS_DIR TOKENIZER_JSON OUT_BIN
"""
import os
import sys

import numpy as np
from tokenizers import Tokenizer

texts, tok_path, out = sys.argv[1:4]
tok = Tokenizer.from_file(tok_path)
dtype = np.uint16 if tok.get_vocab_size() <= 65536 else np.uint32
n = 0
with open(out, "wb") as f:
    for name in sorted(os.listdir(texts)):
        if not name.endswith(".txt"):
            continue
        with open(os.path.join(texts, name), encoding="utf-8", errors="replace") as t:
            text = t.read()
        docs, cur = [], []
        size = 0
        for p in text.split("\n\n"):
            cur.append(p)
            size += len(p) + 2
            if size >= 2048:
                docs.append("\n\n".join(cur) + "\n\n")
                cur, size = [], 0
        if cur:
            docs.append("\n\n".join(cur))
        for i in range(0, len(docs), 1024):
            enc = tok.encode_batch(docs[i : i + 1024], add_special_tokens=False)
            ids = np.fromiter((t for e in enc for t in e.ids), dtype=dtype)
            ids.tofile(f)
            n += len(ids)
print(f"peer: {n} tokens to {out}")

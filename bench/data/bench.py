"""Data benchmark: peak RSS and wall time of preparing corpora (dclab's cached token streams
against a nanoGPT-style Python peer with the same tokenizer.json), and of `dclab train` on a
100k-token budget. Every number comes from this run; peaks are the child's ru_maxrss.

Usage: bench.py --dclab BIN [--before BIN] --work DIR --cache-corpora DIR --gen DIR
                [--corpora pdlit,gen] [--tokenizers bytes,char,bpe:4096] --out FILE
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--dclab", required=True)
ap.add_argument("--before")
ap.add_argument("--work", required=True)
ap.add_argument("--cache-corpora", required=True, help="a cache's corpora/ folder with pdlit and brown fetched")
ap.add_argument("--gen", required=True, help="the generated corpus folder")
ap.add_argument("--corpora", default="pdlit,gen")
ap.add_argument("--tokenizers", default="bytes,char,bpe:4096")
ap.add_argument("--python", default=sys.executable)
ap.add_argument("--out", required=True)
ap.add_argument("--table-from", help="only write the table from the rows of an earlier run's .log")
a = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(a.work, exist_ok=True)


def measure(cmd, env=None):
    """Runs cmd; returns (wall seconds, peak RSS in MB of 10^6 bytes); fails loudly on a non-zero exit."""
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(out.decode(errors="replace")[-3000:])
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return wall, ru.ru_maxrss * 1024 / 1e6, out.decode(errors="replace")  # ru_maxrss is in KiB


def cache(name):
    c = os.path.join(a.work, name)
    os.makedirs(c, exist_ok=True)
    link = os.path.join(c, "corpora")
    if not os.path.exists(link):
        os.symlink(os.path.abspath(a.cache_corpora), link)
    return c


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


rows = []
log = None if a.table_from else open(a.out + ".log", "w")


def row(**kw):
    rows.append(kw)
    print(json.dumps(kw), flush=True)
    log.write(json.dumps(kw) + "\n")
    log.flush()


after = cache("cache-after") if not a.table_from else None
if a.table_from:
    rows = [json.loads(line) for line in open(a.table_from)]
for corpus in ([] if a.table_from else a.corpora.split(",")):
    spec = a.gen if corpus == "gen" else corpus
    texts = a.gen if corpus == "gen" else os.path.join(a.cache_corpora, corpus, "texts")
    text_bytes = dir_bytes(texts)
    for tok in a.tokenizers.split(","):
        stats = [a.dclab, "data", "stats", spec, "--tokenizer", tok, "--cache", after]
        for sub in ("streams", "tokenizers"):
            shutil.rmtree(os.path.join(after, sub), ignore_errors=True)
        cold = measure(stats)
        shutil.rmtree(os.path.join(after, "streams"))
        enc = measure(stats)
        warm = measure(stats)
        sdir = os.path.join(after, "streams", os.listdir(os.path.join(after, "streams"))[0])
        meta = json.load(open(os.path.join(sdir, "meta.json")))
        tokens = meta["train_tokens"] + meta["validation_tokens"]
        goal = meta["token_bytes"] * tokens / 1e6 + 200
        peer_bin = os.path.join(a.work, "peer.bin")
        peer = measure([a.python, os.path.join(here, "peer_prepare.py"), texts, os.path.join(sdir, "tokenizer.json"), peer_bin])
        os.remove(peer_bin)
        run = os.path.join(a.work, "run")
        shutil.rmtree(run, ignore_errors=True)
        train = measure([a.dclab, "train", "--corpus", spec, "--tokenizer", tok, "--unique-tokens", "100000", "--epochs", "1",
                         "--model", "0.1m", "--seq-len", "128", "--batch-size", "16", "--eval-sequences", "8", "--eval-every", "1000",
                         "--cache", after, "--out", run])
        row(corpus=corpus, tokenizer=tok, text_mb=round(text_bytes / 1e6, 1), tokens=tokens, token_bytes=meta["token_bytes"],
            cache_mb=round(dir_bytes(sdir) / 1e6, 1), goal_mb=round(goal),
            cold_s=round(cold[0], 1), cold_mb=round(cold[1]), encode_s=round(enc[0], 1), encode_mb=round(enc[1]),
            cached_s=round(warm[0], 2), cached_mb=round(warm[1]), peer_s=round(peer[0], 1), peer_mb=round(peer[1]),
            train_mb=round(train[1]), train_s=round(train[0], 1))
        if a.before and corpus != "gen":
            before = cache("cache-before")
            bstats = [a.before, "data", "stats", spec, "--tokenizer", tok, "--cache", before]
            measure(bstats)  # trains and caches its tokenizer
            b = measure(bstats)
            shutil.rmtree(run, ignore_errors=True)
            bt = measure([a.before, "train", "--corpus", spec, "--tokenizer", tok, "--unique-tokens", "100000", "--epochs", "1",
                          "--model", "0.1m", "--seq-len", "128", "--batch-size", "16", "--eval-sequences", "8", "--eval-every", "1000",
                          "--cache", before, "--out", run])
            row(corpus=corpus, tokenizer=tok, before=True, stats_s=round(b[0], 1), stats_mb=round(b[1]), train_mb=round(bt[1]), train_s=round(bt[0], 1))

with open(a.out, "w") as f:
    f.write("| corpus | tokenizer | text MB | tokens | B/token | cache MB | prepare cold s / MB | prepare (encode) s / MB | goal MB | cached s | peer s / MB | encode vs peer | train 100k MB |\n")
    f.write("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        if r.get("before"):
            continue
        f.write(f"| {r['corpus']} | {r['tokenizer']} | {r['text_mb']} | {r['tokens']:,} | {r['token_bytes']} | {r['cache_mb']} | "
                f"{r['cold_s']} / {r['cold_mb']} | {r['encode_s']} / {r['encode_mb']} | {r['goal_mb']} | {r['cached_s']} | "
                f"{r['peer_s']} / {r['peer_mb']} | {r['peer_s'] / r['encode_s']:.2f}x | {r['train_mb']} |\n")
    before = [r for r in rows if r.get("before")]
    if before:
        f.write("\nBefore (the previous binary, no token cache; its tokenizer cached):\n\n| corpus | tokenizer | data stats s / MB | train 100k s / MB |\n|---|---|---:|---:|\n")
        for r in before:
            f.write(f"| {r['corpus']} | {r['tokenizer']} | {r['stats_s']} / {r['stats_mb']} | {r['train_s']} / {r['train_mb']} |\n")
print(open(a.out).read())

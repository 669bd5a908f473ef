#!/usr/bin/env python3
"""Search benchmark: dangan's index beside SQLite FTS5 on the same generated texts.

    python3 bench/search_vs_fts5.py --docs 1000000

1. `cargo run --release --example search_bench` generates N growth-record texts and N/10
   people's names (the demo generator's), builds dangan's index (jieba search-mode words +
   positional bigrams + pinyin keys of names, both cores), times 200 queries (70 words, 40
   two-word queries, 50 quoted phrases, 20 names, 20 pinyin; top 10, ranked) and writes
   texts.tsv (raw text, jieba segmentation; a name with its pinyin keys as words) and
   queries.tsv.
2. SQLite FTS5 (Python's sqlite3) indexes the same texts twice: `unicode61` over the jieba
   segmentation (the fair word index) and `trigram` over the raw text (which cannot find
   2-character words), and runs the same queries ranked (ORDER BY rank LIMIT 10).
Reports build docs/s, index sizes, query p50/p99 and the ratio.
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time


def pct(xs, p):
    xs = sorted(xs)
    return xs[round((len(xs) - 1) * p)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--out", default="/tmp/dangan-search-bench")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    r = subprocess.run(["cargo", "run", "--release", "--quiet", "--example", "search_bench", "--",
                        "--docs", str(a.docs), "--out", a.out], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr)
    ours = json.loads(r.stdout.strip().splitlines()[-1])
    texts = [line.rstrip("\n").split("\t") for line in open(os.path.join(a.out, "texts.tsv"), encoding="utf-8")]
    queries = [line.rstrip("\n").split("\t") for line in open(os.path.join(a.out, "queries.tsv"), encoding="utf-8")]
    db_path = os.path.join(a.out, "fts5.db")
    if os.path.exists(db_path):
        os.remove(db_path)
    db = sqlite3.connect(db_path)
    db.execute("CREATE VIRTUAL TABLE seg USING fts5(body, tokenize='unicode61')")
    db.execute("CREATE VIRTUAL TABLE tri USING fts5(body, tokenize='trigram')")
    t = time.perf_counter()
    with db:
        db.executemany("INSERT INTO seg(body) VALUES (?)", ((s,) for _, s in texts))
    seg_build = time.perf_counter() - t
    t = time.perf_counter()
    with db:
        db.executemany("INSERT INTO tri(body) VALUES (?)", ((raw,) for raw, _ in texts))
    tri_build = time.perf_counter() - t
    db.execute("VACUUM")
    size_mb = os.path.getsize(db_path) / 1e6

    def run(table, q):
        t = time.perf_counter()
        try:
            db.execute(f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rank LIMIT 10", (q,)).fetchall()
        except sqlite3.OperationalError:
            pass
        return (time.perf_counter() - t) * 1000

    seg_lat, tri_lat = [], []
    for kind, plain, seg, _total, _ms in queries:
        words = seg.split()
        if kind == "phrase":
            seg_q = '"' + " ".join(words) + '"'
        else:
            seg_q = " AND ".join('"' + w + '"' for w in words)
        seg_lat.append(run("seg", seg_q))
        tri_q = " AND ".join('"' + p + '"' for p in plain.split())
        tri_lat.append(run("tri", tri_q))
    n = len(texts)
    print(f"{n:,} documents: generated growth-record texts and names ({ours['text_mb']:.0f} MB); {len(queries)} queries, top 10 ranked\n")
    kinds = {}
    for (kind, *_rest), a, b in zip(queries, seg_lat, [float(q[4]) for q in queries]):
        kinds.setdefault(kind, []).append((a, b))
    for kind, v in kinds.items():
        print(f"- {kind}: {len(v)} queries, median dangan {pct([b for _, b in v], .5):.2f} ms, FTS5 unicode61 {pct([a for a, _ in v], .5):.2f} ms")
    print()
    print("| engine | build docs/s | build MB/s | index MB | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    print(f"| dangan (tantivy; jieba words + bigrams, 2 cores), top 10 | {ours['docs_per_s']:,.0f} | {ours['mb_per_s']:.1f} | {ours['index_mb']:.0f} | {ours['p50_ms']:.2f} | {ours['p99_ms']:.2f} |")
    print(f"| dangan, top 10 + exact total + facets (what `dangan search` shows) | | | | {ours['facets_p50_ms']:.2f} | {ours['facets_p99_ms']:.2f} |")
    print(f"| FTS5 unicode61 on jieba-segmented text (segmentation not timed) | {n / seg_build:,.0f} | {ours['text_mb'] / seg_build:.1f} | {size_mb:.0f} (both tables) | {pct(seg_lat, .5):.2f} | {pct(seg_lat, .99):.2f} |")
    print(f"| FTS5 trigram on raw text | {n / tri_build:,.0f} | {ours['text_mb'] / tri_build:.1f} | | {pct(tri_lat, .5):.2f} | {pct(tri_lat, .99):.2f} |")
    print(f"\np50 ratio FTS5-unicode61 / dangan: {pct(seg_lat, .5) / ours['p50_ms']:.1f}x; "
          f"trigram / dangan: {pct(tri_lat, .5) / ours['p50_ms']:.1f}x")


if __name__ == "__main__":
    main()

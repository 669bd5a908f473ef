#!/usr/bin/env python3
"""Import and query benchmarks: the release `dangan` binary beside DuckDB, on the same files,
in the same run. Prints a Markdown table of medians and ratios for BENCHMARKS.md.

    cargo build --release
    pip install duckdb
    python3 bench/import_vs_duckdb.py --members 20000 --runs 3

What is compared:
  import  — the engagement_events CSV exports (GBK, as branches send them) into a table.
            dangan: `dangan import engagement_events <dir>` = decode GBK, find headers, type and
            check every value, write Parquet + one Delta commit.
            DuckDB: read_csv of the same rows → Parquet. DuckDB cannot read GBK here (its
            encodings extension needs a download), so it reads UTF-8 copies made beforehand,
            untimed; it does no value checks.
  query   — a group-by over the imported events. dangan: `dangan sql` (process start, Delta log
            replay, query). DuckDB: a fresh process-equivalent connection over the same Parquet
            files the Delta table holds.
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def find_bin():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(os.path.dirname(__file__), "..", "target"))
    return os.path.join(target, "release", "dangan")


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode not in (0, 3):
        sys.exit(f"{' '.join(cmd)} failed: {r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=find_bin())
    a = ap.parse_args()
    import duckdb

    work = tempfile.mkdtemp(prefix="dangan-bench-")
    inbox = os.path.join(work, "inbox")
    run([a.bin, "generate", "--members", str(a.members), "--seed", "1", "--out", inbox])
    src = sorted(glob.glob(os.path.join(inbox, "engagement_events", "*.csv")))
    utf8_dir = os.path.join(work, "utf8")
    os.makedirs(utf8_dir)
    utf8 = []
    for f in src:
        out = os.path.join(utf8_dir, os.path.basename(f))
        with open(f, encoding="gb18030") as i, open(out, "w", encoding="utf-8") as o:
            o.write(i.read())
        utf8.append(out)
    size = sum(os.path.getsize(f) for f in src)

    d_import, k_import, d_query, k_query = [], [], [], []
    rows = None
    q = ("select member_id, count(*) as n, sum(duration_minutes) as minutes from engagement_events "
         "group by member_id order by n desc, member_id limit 10")
    for i in range(a.runs):
        lake = os.path.join(work, f"lake{i}")
        run([a.bin, "--lake", lake, "init"])
        d_import.append(timed(lambda: run([a.bin, "--lake", lake, "import", "engagement_events", os.path.join(inbox, "engagement_events")])))
        pq = os.path.join(work, f"duck{i}.parquet")
        def duck_import():
            con = duckdb.connect()
            files = ", ".join(f"'{f}'" for f in utf8)
            con.execute(f"COPY (SELECT * FROM read_csv([{files}], header=true)) TO '{pq}' (FORMAT parquet)")
            con.close()
        k_import.append(timed(duck_import))
        if rows is None:
            out = run([a.bin, "--lake", lake, "sql", "select count(*) as n from engagement_events", "--format", "csv"])
            rows = int(out.strip().splitlines()[-1])
        d_query.append(timed(lambda: run([a.bin, "--lake", lake, "sql", q, "--format", "csv"])))
        parquet = glob.glob(os.path.join(lake, "tables", "engagement_events", "*.parquet"))
        def duck_query():
            con = duckdb.connect()
            files = ", ".join(f"'{f}'" for f in parquet)
            con.execute(f"CREATE VIEW engagement_events AS SELECT * FROM read_parquet([{files}])")
            con.execute(q).fetchall()
            con.close()
        k_query.append(timed(duck_query))

    med = statistics.median
    print(f"members {a.members}; engagement events {rows:,} rows in {len(src)} GBK CSV files ({size / 1e6:.1f} MB); {a.runs} runs, medians\n")
    print("| step | dangan (s) | DuckDB (s) | dangan / DuckDB |")
    print("|---|---|---|---|")
    print(f"| import CSV → table | {med(d_import):.2f} | {med(k_import):.2f} | {med(d_import) / med(k_import):.1f} |")
    print(f"| group-by query | {med(d_query):.2f} | {med(k_query):.2f} | {med(d_query) / med(k_query):.1f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""SQL as an analyst's client sees it (issue 25, target 4): `POST /api/v1/sql` to a warm
`dangan serve`, timed in the client from the request to the parsed JSON (and, with
`Accept: application/vnd.apache.arrow.stream`, to the read Arrow table; and with `"rows":
"arrays"`, to the parsed JSON whose rows are arrays in column order), beside DuckDB
in-process (2 threads) over the same Parquet files, in the same run, rows compared.

    cargo build --release --example sql_bench --bin dangan
    pip install duckdb
    python3 bench/sql_vs_duckdb.py --members 100000 --runs 1   # builds and caches the lake
    python3 bench/api_sql.py --members 100000 --runs 7

Queries: bench/sql_queries.json (the ten analyst queries) and bench/sql_queries_more.json
(small group-bys, date_trunc by month, top-N per group over a join, an anti-join, a top-N).
The client is a department granted every dataset with scope all and personal columns
visible (`bench_all`, made by sql_vs_duckdb.py), over one kept-alive HTTP connection.
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time

import duckdb
import pyarrow as pa

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASETS = ["organizations", "members", "appraisals", "growth_records", "engagement_events"]


def cell(v):
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        # JSON writes 82.0 as 82: compare numbers as numbers.
        return f"{float(v) + 0.0:.3f}".replace("-0.000", "0.000")
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def same_rows(ours, theirs):
    """Equal, numbers within 1.1e-3 (an average rounded after sums in another order may differ
    in its last digit)."""
    if len(ours) != len(theirs):
        return False
    for r, t in zip(ours, theirs):
        if len(r) != len(t):
            return False
        for v, w in zip(r, t):
            num = (int, float)
            if isinstance(v, num) and isinstance(w, num) and not isinstance(v, bool):
                if abs(float(v) - float(w)) > 1.1e-3:
                    return False
            elif cell(v) != cell(w):
                return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--work", default="/tmp/dangan-sql-bench")
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "dangan"))
    a = ap.parse_args()
    lake = os.path.join(a.work, f"lake-{a.members}")
    if not os.path.exists(os.path.join(lake, ".done")):
        sys.exit(f"no lake at {lake}: run python3 bench/sql_vs_duckdb.py --members {a.members} --runs 1 first")
    token = subprocess.run([a.bin, "--lake", lake, "access", "token", "create", "--department", "bench_all"],
                           check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    queries = []
    for f in ("sql_queries.json", "sql_queries_more.json"):
        queries += json.load(open(os.path.join(ROOT, "bench", f)))
    # The server brings a search index behind its tables in step in the background: do it
    # first, so that the catch-up does not share the cores with the measured queries.
    subprocess.run([a.bin, "--lake", lake, "index", "sync"], check=True, capture_output=True)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for ds in DATASETS:
        con.execute(f"CREATE VIEW {ds} AS SELECT * FROM read_parquet('{lake}/tables/{ds}/**/*.parquet')")
    server = subprocess.Popen([a.bin, "--lake", lake, "serve", "--addr", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r"127\.0\.0\.1:(\d+)", server.stdout.readline()).group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port)

        def api(sql, arrow=False, arrays=False):
            body = json.dumps({"sql": sql, "rows": "arrays"} if arrays else {"sql": sql})
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            if arrow:
                headers["Accept"] = "application/vnd.apache.arrow.stream"
            conn.request("POST", "/api/v1/sql", body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                sys.exit(f"{sql}: HTTP {r.status} {data[:500]!r}")
            if arrow:
                return pa.ipc.open_stream(data).read_all()
            out = json.loads(data)
            if arrays:
                return out["rows"]
            names = [c["name"] for c in out["columns"]]
            return [[row.get(n) for n in names] for row in out["rows"]]

        print(f"archive of {a.members:,} members; {a.runs} runs per query, medians; one kept-alive connection\n")
        print("| query | API JSON ms | JSON arrays ms | API Arrow ms | DuckDB ms | ratio JSON | ratio arrays | ratio Arrow | rows equal |")
        print("|---|---|---|---|---|---|---|---|---|")
        ratios, rratios, aratios = [], [], []
        for q in queries:
            ours_sql, duck_sql = q["ours"], q["duckdb"] or q["ours"]
            api(ours_sql)
            api(ours_sql, arrow=True)
            api(ours_sql, arrays=True)
            con.execute(duck_sql).fetchall()
            ot, rt, at, dt = [], [], [], []
            for _ in range(a.runs):
                t = time.perf_counter()
                ours = api(ours_sql)
                ot.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                rows = api(ours_sql, arrays=True)
                rt.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                table = api(ours_sql, arrow=True)
                at.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                theirs = con.execute(duck_sql).fetchall()
                dt.append((time.perf_counter() - t) * 1000)
            o, rw, ar, d = (statistics.median(x) for x in (ot, rt, at, dt))
            same = (same_rows(ours, theirs) and same_rows(rows, theirs)
                    and same_rows(list(zip(*table.to_pydict().values())), theirs))
            ratios.append(o / d)
            rratios.append(rw / d)
            aratios.append(ar / d)
            print(f"| {q['name']} | {o:.1f} | {rw:.1f} | {ar:.1f} | {d:.1f} | {o / d:.2f} | {rw / d:.2f} | {ar / d:.2f} | {'yes' if same else 'NO'} |")
            if not same:
                print(f"  ours {ours[:3]} … theirs {theirs[:3]} …", file=sys.stderr)
        for r in (ratios, rratios, aratios):
            r.sort()
        print(f"\nmedian ratio (API JSON / DuckDB) {statistics.median(ratios):.2f}, worst {ratios[-1]:.2f}; "
              f"JSON arrays: median {statistics.median(rratios):.2f}, worst {rratios[-1]:.2f}; "
              f"Arrow: median {statistics.median(aratios):.2f}, worst {aratios[-1]:.2f}")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

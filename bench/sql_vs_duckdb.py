#!/usr/bin/env python3
"""SQL benchmark: ten analyst queries, dangan (DataFusion over the lake's Delta tables) beside
DuckDB over the same Parquet files, in the same run, with results compared.

    python3 bench/sql_vs_duckdb.py --members 1000000 --runs 5

1. `dangan generate` writes the archive of N members (cached in --work) and a release
   `dangan import` of members, organizations, appraisals, growth records and engagement
   events builds a lake (cached too).
2. `cargo run --release --example sql_bench` runs bench/sql_queries.json: each query --runs
   times as the administrator, and as a department granted every dataset with scope all and
   personal columns visible (the policy layer's own cost), and as a department whose scope
   is the root organization's sub-tree (every row, but through the scope applied inside the
   scan: `bench_scoped`, personal visible); median ms and the rows.
3. DuckDB runs the same queries (its own spelling where bench/sql_queries.json gives one) over
   views on the tables' Parquet files (a freshly imported lake: every file is current), the
   same number of times; median ms. The rows must be equal.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import duckdb

DATASETS = ["organizations", "members", "appraisals", "growth_records", "engagement_events"]


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode not in (0, 3):
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default="/tmp/dangan-sql-bench")
    ap.add_argument("--no-build", action="store_true",
                    help="use the release binaries already built (cargo build --release --example sql_bench --bin dangan)")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    if not a.no_build:
        run(["cargo", "build", "--release", "--quiet", "--example", "sql_bench", "--bin", "dangan"], cwd=root)
    dangan = os.path.join(target, "release", "dangan")
    files = os.path.join(a.work, f"archive-{a.members}")
    lake = os.path.join(a.work, f"lake-{a.members}")
    if not os.path.exists(os.path.join(files, ".done")):
        run([dangan, "generate", "--members", str(a.members), "--seed", "7", "--out", files])
        open(os.path.join(files, ".done"), "w").close()
    if not os.path.exists(os.path.join(lake, ".done")):
        run([dangan, "--lake", lake, "init"])
        for ds in DATASETS:
            t = time.perf_counter()
            run([dangan, "--lake", lake, "import", ds, os.path.join(files, ds), "--no-index"])
            print(f"imported {ds} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        run([dangan, "--lake", lake, "access", "department", "add", "bench_all"])
        for ds in DATASETS:
            run([dangan, "--lake", lake, "access", "grant", "bench_all", ds, "--scope", "all", "--personal", "visible"])
        open(os.path.join(lake, ".done"), "w").close()
    if "bench_scoped" not in run([dangan, "--lake", lake, "access", "list"]):
        roots = run([dangan, "--lake", lake, "sql", "--format", "csv",
                     "select org_id from organizations where parent_id is null"]).split()[1:]
        run([dangan, "--lake", lake, "access", "department", "add", "bench_scoped"])
        for ds in DATASETS:
            run([dangan, "--lake", lake, "access", "grant", "bench_scoped", ds,
                 "--scope", f"org:{roots[0]}", "--personal", "visible"])
    out = run([os.path.join(target, "release", "examples", "sql_bench"), "--lake", lake,
               "--queries", os.path.join(root, "bench", "sql_queries.json"), "--runs", str(a.runs),
               "--as", "bench_all", "--scoped", "bench_scoped"])
    ours = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    queries = json.load(open(os.path.join(root, "bench", "sql_queries.json")))

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for ds in DATASETS:
        con.execute(f"CREATE VIEW {ds} AS SELECT * FROM read_parquet('{lake}/tables/{ds}/**/*.parquet')")
    counts = {ds: con.execute(f"SELECT count(*) FROM {ds}").fetchone()[0] for ds in DATASETS}
    print(f"archive of {a.members:,} members: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + "\n")
    print("| query | dangan ms | DuckDB ms | ratio | as a department ms | policy overhead | "
          "scoped ms | scope cost | rows equal |")
    print("|---|---|---|---|---|---|---|---|---|")
    ratios, overheads, scope_costs = [], [], []
    for q, o in zip(queries, ours):
        sql = q["duckdb"] or q["ours"]
        times = []
        for _ in range(a.runs):
            t = time.perf_counter()
            rows = con.execute(sql).fetchall()
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        theirs_ms = times[len(times) // 2]

        def cell_equal(theirs_v, ours_s):
            if theirs_v is None:
                return ours_s == ""
            if isinstance(theirs_v, float):
                # Rounded averages summed in another order may differ in the last digit.
                try:
                    return abs(float(ours_s) - theirs_v) <= 1.1e-3
                except ValueError:
                    return False
            return str(theirs_v) == ours_s

        same = len(rows) == len(o["rows"]) and all(
            len(r) == len(s) and all(cell_equal(v, w) for v, w in zip(r, s))
            for r, s in zip(rows, o["rows"])
        )
        ratio = o["ms"] / theirs_ms
        ratios.append(ratio)
        pol = o.get("policy_ms")
        over = (pol / o["ms"] - 1) * 100 if pol else None
        if over is not None:
            overheads.append(over)
        sc = o.get("scoped_ms")
        cost = (sc / pol - 1) * 100 if sc and pol else None
        if cost is not None:
            scope_costs.append(cost)
        same = same and o.get("scoped_same") is not False
        print(f"| {q['name']} | {o['ms']:.1f} | {theirs_ms:.1f} | {ratio:.2f} | "
              f"{pol:.1f} | {over:+.1f}% | {sc:.1f} | {cost:+.1f}% | {'yes' if same else 'NO'} |")
        if not same:
            print(f"  ours {o['rows'][:3]} … theirs {rows[:3]} …", file=sys.stderr)
    ratios.sort()
    overheads.sort()
    print(f"\nmedian ratio dangan/DuckDB {ratios[len(ratios) // 2]:.2f} (worst {ratios[-1]:.2f}); "
          f"median policy overhead {overheads[len(overheads) // 2]:+.1f}%; "
          f"median scope cost (scoped / scope all) {sorted(scope_costs)[len(scope_costs) // 2]:+.1f}%")


if __name__ == "__main__":
    main()

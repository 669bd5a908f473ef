#!/usr/bin/env python3
"""Reports benchmark: every report on a generated archive, time and peak memory of each.

    python3 bench/reports.py --lake /tmp/dangan-sql-bench/lake-1000000 [--no-build]

The lake is the one bench/sql_vs_duckdb.py builds (generated with --seed 7, imported by the
release binary), with the other datasets imported too (this script imports what is missing
from <work>/archive-<members>). Each report runs --runs times in a fresh process
(`dangan report <name> --as-of 2026-11-30 --format json --out …`); the table gives the
median wall time, the largest peak RSS, and the report's own query/compute split.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

REPORTS = ["membership", "appraisal", "development", "meetings", "engagement",
           "sentiment", "survey", "operators", "feedback"]
NEEDS = ["organizations", "members", "appraisals", "growth_records", "engagement_events",
         "development", "feedback", "meetings", "survey_responses", "publications"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--work", default="/tmp/dangan-sql-bench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", nargs="*", default=REPORTS)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "dangan"], cwd=root, check=True)
    dangan = os.path.join(target, "release", "dangan")
    lake = os.path.join(a.work, f"lake-{a.members}")
    files = os.path.join(a.work, f"archive-{a.members}")
    if not os.path.exists(lake):
        sys.exit(f"{lake}: run bench/sql_vs_duckdb.py --members {a.members} first")
    status = json.loads(subprocess.run([dangan, "--lake", lake, "status", "--format", "json"],
                                       capture_output=True, text=True, check=True).stdout)
    versions = {t["name"]: t["version"] for t in status}
    for ds in NEEDS:
        if not versions.get(ds):
            print(f"importing {ds} …", file=sys.stderr)
            subprocess.run([dangan, "--lake", lake, "import", ds, os.path.join(files, ds), "--no-index"],
                           capture_output=True)
    out = "/tmp/dangan-report-bench.json"
    print("| report | wall s (median) | peak RSS MB | query ms | compute ms | rows read |")
    print("|---|---|---|---|---|---|")
    for name in a.only:
        walls, peaks = [], []
        for _ in range(a.runs):
            r = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", dangan, "--lake", lake, "report", name,
                                "--as-of", "2026-11-30", "--format", "json", "--out", out],
                               capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"report {name} failed:\n{r.stderr}")
            line = [l for l in r.stderr.splitlines() if l.startswith("TIME ")][-1].split()
            walls.append(float(line[1]))
            peaks.append(int(line[2]) / 1024)
        rep = json.load(open(out))
        m = rep["metrics"]
        rows = sum(m["rows_read"].values())
        print(f"| {name} | {statistics.median(walls):.2f} | {max(peaks):.0f} | {m['query_ms']} | {m['compute_ms']} | {rows:,} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()

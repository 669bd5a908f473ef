#!/usr/bin/env python3
"""The ten analyst queries (bench/sql_queries.json) on a lake in a local S3 server, as a user
types them: `dangan sql Q` (one process, the local engine reading the bucket) beside
`dangan sql Q --cluster df://…` (a Ballista scheduler and two executors on this same
machine), and the same queries on the same archive in a lake on local disk. Same run, rows
compared.

    cargo build --release --bin dangan
    cargo install s3s-fs --version 0.14.1 --features binary --root /tmp/s3s   # the S3 server
    python3 bench/cluster_sql.py --members 1000000 --runs 3 --s3s /tmp/s3s/bin/s3s-fs

What it measures is what the cluster costs on one box (two cores shared by the front-end,
the scheduler and both executors: stages, shuffle files and gRPC on top of the same scans),
not what it gains on several machines.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

DATASETS = ["organizations", "members", "appraisals", "growth_records", "engagement_events"]
KEY, SECRET = "dangan-bench", "dangan-bench-secret"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def upload(lake, endpoint):
    """Every object of a local lake's tables into s3://bench/lake/ (boto3, as `aws s3 sync`)."""
    import boto3
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=KEY,
                      aws_secret_access_key=SECRET, region_name="us-east-1")
    t, n, size = time.perf_counter(), 0, 0
    for top in ["tables", "system"]:
        for folder, _, names in os.walk(os.path.join(lake, top)):
            for name in names:
                path = os.path.join(folder, name)
                key = "lake/" + os.path.relpath(path, lake)
                s3.upload_file(path, "bench", key)
                n += 1
                size += os.path.getsize(path)
    print(f"uploaded {n} objects, {size / 1e6:.0f} MB in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/dangan-cluster-bench")
    ap.add_argument("--bin", help="the dangan binary (default: $CARGO_TARGET_DIR/release/dangan)")
    ap.add_argument("--s3s", required=True, help="the s3s-fs binary (cargo install s3s-fs --features binary)")
    ap.add_argument("--concurrency", type=int, default=1, help="task slots per executor")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    dangan = a.bin or os.path.join(target, "release", "dangan")
    os.makedirs(a.work, exist_ok=True)
    files = os.path.join(a.work, f"archive-{a.members}")
    s3root = os.path.join(a.work, f"s3-{a.members}")
    port = free_port()
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID=KEY,
               AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
    env.pop("DANGAN_LAKE", None)

    def run(args, check=True):
        t = time.perf_counter()
        r = subprocess.run([dangan] + args, capture_output=True, text=True, env=env)
        ms = (time.perf_counter() - t) * 1000
        if check and r.returncode not in (0, 3):
            sys.exit(f"dangan {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r, ms

    if not os.path.exists(os.path.join(files, ".done")):
        run(["generate", "--members", str(a.members), "--seed", "7", "--out", files])
        open(os.path.join(files, ".done"), "w").close()
    os.makedirs(os.path.join(s3root, "bench"), exist_ok=True)
    procs = []
    logs = os.path.join(a.work, "logs")
    os.makedirs(logs, exist_ok=True)

    def spawn(args, name):
        out = open(os.path.join(logs, f"{name}.log"), "w")
        p = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        procs.append(p)
        return p

    try:
        spawn([a.s3s, "--host", "127.0.0.1", "--port", str(port), "--access-key", KEY,
               "--secret-key", SECRET, s3root], "s3s")
        time.sleep(1)
        local = os.path.join(a.work, f"local-{a.members}")
        s3lake = os.path.join(a.work, f"s3lake-{a.members}")
        if not os.path.exists(os.path.join(local, ".done")):
            shutil.rmtree(local, ignore_errors=True)
            run(["--lake", local, "init"])
            total = 0.0
            for ds in DATASETS:
                _, ms = run(["--lake", local, "import", ds, os.path.join(files, ds), "--no-index"])
                total += ms
            print(f"import of the five datasets into the lake on local disk: {total / 1000:.1f} s", file=sys.stderr)
            open(os.path.join(local, ".done"), "w").close()
        if not os.path.exists(os.path.join(s3lake, ".done")):
            # The same lake uploaded to the bucket (its Delta logs hold relative paths). Importing
            # the 7,877 roster workbooks straight into S3 re-reads the table's log for every
            # file's transaction marker — one of the findings of this benchmark, see BENCHMARKS.md.
            shutil.rmtree(s3lake, ignore_errors=True)
            shutil.rmtree(os.path.join(s3root, "bench"), ignore_errors=True)
            os.makedirs(os.path.join(s3root, "bench"))
            upload(local, f"http://127.0.0.1:{port}")
            run(["--lake", s3lake, "init", "--storage", "s3://bench/lake"])
            open(os.path.join(s3lake, ".done"), "w").close()

        sched = free_port()
        spawn([dangan, "--lake", s3lake, "cluster", "scheduler", "--bind", f"127.0.0.1:{sched}"], "scheduler")
        for i in range(2):
            own = os.path.join(a.work, f"node{i}")
            shutil.rmtree(own, ignore_errors=True)
            run(["--lake", own, "init", "--storage", "s3://bench/lake"])
            work = os.path.join(a.work, f"shuffle{i}")
            shutil.rmtree(work, ignore_errors=True)
            spawn([dangan, "--lake", own, "cluster", "executor", "--scheduler", f"127.0.0.1:{sched}",
                   "--port", str(free_port()), "--grpc-port", str(free_port()), "--work-dir", work,
                   "--concurrency", str(a.concurrency)], f"executor{i}")
        url = f"df://127.0.0.1:{sched}"
        started = time.time()
        while run(["--lake", s3lake, "sql", "select 1", "--cluster", url], check=False)[0].returncode != 0:
            if time.time() - started > 60:
                sys.exit("the cluster did not answer within 60 s (logs in " + logs + ")")
            time.sleep(1)

        queries = json.load(open(os.path.join(root, "bench", "sql_queries.json")))
        print(f"archive of {a.members:,} members (dangan generate --seed 7), {a.runs} runs each, median "
              f"wall time of the command (process start to last row)\n")
        print("| query | local disk ms | S3, one process ms | S3, cluster ms | cluster / one process | rows equal |")
        print("|---|---|---|---|---|---|")
        ratios = []
        for q in queries:
            results, medians = [], []
            for lake, extra in [(local, []), (s3lake, []), (s3lake, ["--cluster", url])]:
                times, out = [], None
                for _ in range(a.runs):
                    r, ms = run(["--lake", lake, "sql", q["ours"], "--format", "json"] + extra)
                    times.append(ms)
                    out = r.stdout
                medians.append(statistics.median(times))
                rows = json.loads(out)
                results.append([[str(v) for v in r.values()] for r in rows])
            same = results[0] == results[1] == results[2]
            ratio = medians[2] / medians[1]
            ratios.append(ratio)
            print(f"| {q['name']} | {medians[0]:.0f} | {medians[1]:.0f} | {medians[2]:.0f} | "
                  f"{ratio:.2f} | {'yes' if same else 'NO'} |")
        ratios.sort()
        print(f"\ncluster / one process on S3: median {statistics.median(ratios):.2f}, "
              f"best {ratios[0]:.2f}, worst {ratios[-1]:.2f}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    main()

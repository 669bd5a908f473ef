#!/usr/bin/env python3
"""What sealing personal values costs, and what reading another database live costs, each
beside its alternative in the same run (issue 29).

    cargo build --release --bin dangan
    python3 bench/encryption.py --archive /tmp/cb-1m/archive-1000000 --runs 3 \
        [--import organizations,members,appraisals --link-from LAKE]

1. Import: the archive's datasets (organizations, members, appraisals, growth_records,
   engagement_events) imported with `dangan import <dataset> <folder>` — the command a user
   types, its defaults (upsert + index) — into a fresh plain lake and into a fresh lake made
   with `dangan lake encrypt` first; the two lakes alternate per dataset.
2. Queries: the ten analyst queries of bench/sql_queries.json plus a look-up by full ID
   number, `dangan sql Q --format csv` on each lake, alternated, `--runs` times; medians, rows
   compared.
3. Federation: a `postings` table of 10% of the members in a PostgreSQL 15 of its own (Debian's,
   `initdb` as the `postgres` user) and in a MariaDB 10.11 of its own (Debian's), read live as
   `cadre.postings` / `app.postings` vs the same rows imported as a dataset (a user spec); a
   join with `members` grouped by branch, the three alternated.
   `--federation-only LAKE` runs this part alone, on a copy of LAKE's organizations and members.

Prints one JSON object; BENCHMARKS.md has the table and the figures of a run.
"""
import argparse
import csv
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time

DATASETS = ["organizations", "members", "appraisals", "growth_records", "engagement_events"]
PG_BIN = "/usr/lib/postgresql/15/bin"
HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, ok=(0,), **kw):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    took = time.perf_counter() - t
    if p.returncode not in ok:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return took, p.stdout


def as_postgres(cmd):
    return (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + cmd


def start_postgres(work):
    pg = os.path.join(work, "pg")
    os.makedirs(pg, exist_ok=True)
    os.chmod(work, 0o755)
    os.chmod(pg, 0o777)
    data = os.path.join(pg, "data")
    subprocess.run(as_postgres([f"{PG_BIN}/initdb", "-D", data, "-U", "postgres", "--auth-local=trust",
                                "--auth-host=trust", "--encoding=UTF8", "--locale=C"]),
                   check=True, capture_output=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    log = open(os.path.join(pg, "postgres.log"), "w")
    proc = subprocess.Popen(as_postgres([f"{PG_BIN}/postgres", "-D", data, "-p", str(port),
                                         "-c", "listen_addresses=127.0.0.1",
                                         "-c", f"unix_socket_directories={pg}"]),
                            stdout=log, stderr=log)
    for _ in range(150):
        if subprocess.run([f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                           "-c", "select 1"], capture_output=True).returncode == 0:
            return proc, port
        time.sleep(0.2)
    sys.exit("postgres did not start")


def psql(port, sql):
    subprocess.run([f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-v",
                    "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True)


POSTINGS_SPEC = """name = "postings"
label = "干部任职"
description = "组织部干部系统的任职记录（基准测试用）"
key = ["posting_id"]
mode = "upsert"

[[columns]]
name = "posting_id"
type = "string"
label = "任职编号"
aliases = ["任职编号"]
required = true

[[columns]]
name = "member_id"

[[columns]]
name = "post"
type = "string"
label = "职务"
aliases = ["职务"]

[[columns]]
name = "since"
type = "date"
label = "任职时间"
aliases = ["任职时间"]
"""


def start_mariadb(work):
    root = os.path.join(work, "mariadb")
    os.makedirs(root, exist_ok=True)
    user = "root" if os.geteuid() == 0 else os.environ.get("USER", "root")
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={root}/data", f"--user={user}",
                    "--auth-root-authentication-method=normal", "--skip-test-db"], check=True, capture_output=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen(["mariadbd", "--no-defaults", f"--datadir={root}/data", f"--user={user}",
                             f"--port={port}", "--bind-address=127.0.0.1", f"--socket={root}/sock",
                             f"--log-error={root}/error.log", "--skip-log-bin", "--local-infile=1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        if mariadb(root, "select 1", check=False).returncode == 0:
            return proc, port, root
        time.sleep(0.2)
    sys.exit("mariadbd did not start")


def mariadb(root, sql, check=True):
    return subprocess.run(["mariadb", "--no-defaults", f"--socket={root}/sock", "-uroot", "--local-infile=1",
                           "-e", sql], check=check, capture_output=True)


def federation(args, d, lake):
    """The same postings read live from PostgreSQL and from MariaDB, and imported."""
    _, ids = run(d(lake, "sql", "select member_id from members order by member_id", "--format", "csv"))
    members = ids.splitlines()[1:]
    rnd = random.Random(29)
    chosen = rnd.sample(members, len(members) // 10)
    posts = ["支部书记", "组织委员", "宣传委员", "纪检委员", "青年委员", "科长", "主任", "处长"]
    path = os.path.join(args.work, "postings.csv")
    os.chmod(args.work, 0o755)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["任职编号", "党员编号", "职务", "任职时间"])
        for i, m in enumerate(chosen):
            w.writerow([f"P{i:07d}", m, rnd.choice(posts), f"{rnd.randint(2005, 2025)}-{rnd.randint(1, 12):02d}-01"])
    os.chmod(path, 0o644)
    pg, port = start_postgres(args.work)
    my, my_port, my_root = start_mariadb(args.work)
    try:
        psql(port, "create table postings (posting_id text primary key, member_id text, post text, since date)")
        psql(port, f"\\copy postings from '{path}' with (format csv, header true)")
        psql(port, "analyze postings")
        mariadb(my_root, "create database app character set utf8mb4; "
                "create table app.postings (posting_id varchar(16) primary key, member_id varchar(32), "
                "post varchar(32), since date); "
                f"load data local infile '{path}' into table app.postings character set utf8mb4 "
                "fields terminated by ',' optionally enclosed by '\"' ignore 1 lines; "
                "analyze table app.postings; "
                "create user 'reader'@'%' identified by 'bench'; grant select on app.* to 'reader'@'%';")
        run(d(lake, "external", "add", "cadre", "--kind", "postgres", "--url",
              f"postgres://postgres@127.0.0.1:{port}/postgres", "--tables", "postings"))
        os.environ["APP_PW"] = "bench"
        run(d(lake, "external", "add", "app", "--kind", "mysql", "--url",
              f"mysql://reader@127.0.0.1:{my_port}/app", "--password-env", "APP_PW", "--tables", "postings"))
        os.makedirs(os.path.join(lake, "datasets"), exist_ok=True)
        with open(os.path.join(lake, "datasets", "postings.toml"), "w") as f:
            f.write(POSTINGS_SPEC)
        folder = os.path.join(args.work, "postings")
        os.makedirs(folder)
        shutil.copy(path, folder)
        run(d(lake, "import", "postings", folder), ok=(0, 3))
        q = ("SELECT m.org_id, p.post, count(*) AS n FROM members m JOIN {t} p ON p.member_id = m.member_id "
             "WHERE p.since >= DATE '2015-01-01' GROUP BY m.org_id, p.post ORDER BY m.org_id, p.post")
        tables = {"postgres": "cadre.postings", "mysql": "app.postings", "imported": "postings"}
        order = list(tables)
        times = {n: [] for n in tables}
        rows = {}
        for r in range(args.runs):
            for name in order[r % 3:] + order[:r % 3]:
                t, text = run(d(lake, "sql", q.format(t=tables[name]), "--format", "csv"))
                times[name].append(t)
                rows[name] = text
        med = {n: statistics.median(v) for n, v in times.items()}
        print(f"federation: postgres {med['postgres']:.2f} s, mysql {med['mysql']:.2f} s, "
              f"imported {med['imported']:.2f} s", file=sys.stderr)
        return {"rows_remote": len(chosen), "live_s": med["postgres"], "mysql_s": med["mysql"],
                "imported_s": med["imported"], "ratio": med["postgres"] / med["imported"],
                "mysql_ratio": med["mysql"] / med["imported"],
                "same_rows": rows["postgres"] == rows["imported"] == rows["mysql"]}
    finally:
        for proc in (pg, my):
            proc.terminate()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--archive", required=True, help="a folder `dangan generate` wrote")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/dangan-encryption-bench")
    ap.add_argument("--import", dest="imports", default=",".join(DATASETS),
                    help="the datasets imported (timed), in order")
    ap.add_argument("--link-from", help="a lake whose tables of the other datasets the queries need are "
                    "hard-linked into both lakes instead of imported (no personal columns: the same in both)")
    ap.add_argument("--federation-only", metavar="LAKE",
                    help="only the federation part, on a copy of this lake's organizations and members")
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "dangan"))
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    lakes = {"plain": os.path.join(args.work, "plain"), "sealed": os.path.join(args.work, "sealed")}
    key = os.path.join(args.work, "lake.key")
    d = lambda lake, *a: [args.bin, "--lake", lake, *a]
    run(d(lakes["plain"], "init"))
    if args.federation_only:
        for ds in ["organizations", "members"]:
            shutil.rmtree(os.path.join(lakes["plain"], "tables", ds), ignore_errors=True)
            shutil.copytree(os.path.join(args.federation_only, "tables", ds),
                            os.path.join(lakes["plain"], "tables", ds))
        out = {"federation": federation(args, d, lakes["plain"])}
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    run(d(lakes["sealed"], "init"))
    run([args.bin, "lake", "new-key", key])
    run(d(lakes["sealed"], "lake", "encrypt", "--key-file", key))

    imports = args.imports.split(",")
    out = {"import_seconds": {}, "queries": [], "federation": {}, "imported": imports,
           "linked": [ds for ds in DATASETS if ds not in imports] if args.link_from else []}
    for ds in imports:
        folder = os.path.join(args.archive, ds)
        times = {}
        for name in (["plain", "sealed"] if imports.index(ds) % 2 == 0 else ["sealed", "plain"]):
            # (3: some rows quarantined — the generator writes a few typos on purpose.)
            times[name], _ = run(d(lakes[name], "import", ds, folder), ok=(0, 3))
        out["import_seconds"][ds] = times
        print(f"import {ds}: plain {times['plain']:.1f} s, sealed {times['sealed']:.1f} s "
              f"(×{times['sealed'] / times['plain']:.2f})", file=sys.stderr)
    # (Linked after the imports, so that no import's index sync reads them.)
    if args.link_from:
        for ds in DATASETS:
            if ds not in imports:
                for lake in lakes.values():
                    target = os.path.join(lake, "tables", ds)
                    shutil.rmtree(target)
                    subprocess.run(["cp", "-al", os.path.join(args.link_from, "tables", ds), target], check=True)
    total = {n: sum(t[n] for t in out["import_seconds"].values()) for n in lakes}
    out["import_total_ratio"] = total["sealed"] / total["plain"]

    queries = json.load(open(os.path.join(HERE, "sql_queries.json")))
    _, first = run(d(lakes["plain"], "sql", "select min(id_number) as i from members", "--format", "csv"))
    id_number = first.splitlines()[1].strip()
    queries.append({"name": "look-up by full ID number",
                    "ours": f"SELECT member_id, name, phone FROM members WHERE id_number = '{id_number}'"})
    for q in queries:
        times = {n: [] for n in lakes}
        rows = {}
        for r in range(args.runs):
            for name in (["plain", "sealed"] if r % 2 == 0 else ["sealed", "plain"]):
                t, text = run(d(lakes[name], "sql", q["ours"], "--format", "csv"))
                times[name].append(t)
                rows[name] = text
        med = {n: statistics.median(v) for n, v in times.items()}
        entry = {"name": q["name"], "plain_s": med["plain"], "sealed_s": med["sealed"],
                 "ratio": med["sealed"] / med["plain"], "same_rows": rows["plain"] == rows["sealed"]}
        out["queries"].append(entry)
        print(f"{q['name']}: ×{entry['ratio']:.2f} same={entry['same_rows']}", file=sys.stderr)
    ratios = [e["ratio"] for e in out["queries"]]
    out["query_ratio"] = {"median": statistics.median(ratios), "best": min(ratios), "worst": max(ratios)}

    out["federation"] = federation(args, d, lakes["plain"])
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

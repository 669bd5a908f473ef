#!/usr/bin/env python3
"""The importer on 1,000,000 `members` rows, beside DuckDB, in the same run.

    cargo build --release
    pip install duckdb
    python3 bench/members_1m.py --rows 1000000 --runs 3

Writes one UTF-8 CSV and one JSONL file of member rows (valid ID numbers, Chinese headers for
the CSV, canonical names for JSONL), then alternates:
  dangan:  `dangan import members <file> --mode append` into a fresh lake — decoding, header
           mapping, every check (ID check digit and birth date, enums, dates, phones, codes),
           Parquet, one Delta commit, and the search index brought in step (`--no-index`: the
           import alone, as the figures before the index measured);
  DuckDB:  COPY (SELECT * FROM read_csv(...)) TO '...parquet' (no checks), and read_json for
           the JSONL variant.
Reports medians, the median of per-run ratios, and peak memory (ru_maxrss of the child).
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
C = "10X98765432"
HEAD = ["党员编号", "姓名", "性别", "民族", "出生日期", "身份证号", "联系电话", "学历", "所在党支部",
        "人员类别", "入党时间", "转正时间", "工作单位", "职务", "党籍状态"]
KEYS = ["member_id", "name", "gender", "ethnicity", "birth_date", "id_number", "phone", "education", "org_id",
        "category", "join_date", "full_date", "work_unit", "position", "status"]


def rows(n, seed=1):
    rnd = random.Random(seed)
    sur = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
    giv = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
    for i in range(n):
        y, m, d = rnd.randint(1950, 2000), rnd.randint(1, 12), rnd.randint(1, 28)
        male = rnd.random() < 0.6
        body = f"320106{y:04d}{m:02d}{d:02d}{rnd.randint(0, 49) * 2 + (1 if male else 0):03d}"
        idn = body + C[sum(int(a) * w for a, w in zip(body, W)) % 11]
        jy = y + rnd.randint(20, 25)
        yield [f"M{i:08d}", rnd.choice(sur) + rnd.choice(giv) + rnd.choice(giv), "男" if male else "女", "汉族",
               f"{y}-{m:02d}-{d:02d}", idn, f"138{rnd.randint(0, 99999999):08d}", "大学本科", "B01",
               "正式党员", f"{jy}-07-01", f"{jy + 1}-07-01", "测试单位", "科员", "正常"]


def run_measured(cmd):
    """Run in a fresh process so that ru_maxrss is this run's peak."""
    code = ("import resource,subprocess,sys,time;t=time.perf_counter();"
            "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
            "e=time.perf_counter()-t;"
            "print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024, r.returncode);"
            "sys.stderr.write(r.stderr.decode()[-2000:] if r.returncode not in (0,3) else '')")
    out = subprocess.run([sys.executable, "-c", code] + cmd, capture_output=True, text=True)
    t, mb, rc = out.stdout.split()
    if int(rc) not in (0, 3):
        sys.exit(f"{cmd} failed: {out.stderr}")
    return float(t), float(mb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "dangan"))
    ap.add_argument("--no-index", action="store_true",
                    help="import with --no-index: the import alone, as this benchmark measured before "
                         "imports kept the search index in step (the default since issue 7)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="dangan-m1m-")
    csv_path, jsonl_path = os.path.join(work, "members.csv"), os.path.join(work, "members.jsonl")
    with open(csv_path, "w", encoding="utf-8") as c, open(jsonl_path, "w", encoding="utf-8") as j:
        c.write(",".join(HEAD) + "\n")
        for r in rows(a.rows):
            c.write(",".join(r) + "\n")
            j.write(json.dumps(dict(zip(KEYS, r)), ensure_ascii=False) + "\n")
    results = {}
    for fmt, path, duck in (("csv", csv_path, "read_csv"), ("jsonl", jsonl_path, "read_json")):
        d_t, d_m, k_t, k_m, ratios = [], [], [], [], []
        for i in range(a.runs):
            lake = os.path.join(work, f"lake-{fmt}-{i}")
            subprocess.run([a.bin, "--lake", lake, "init"], check=True, stdout=subprocess.DEVNULL)
            # The lake needs the branch the rows point at.
            org = os.path.join(work, "org.csv")
            with open(org, "w", encoding="utf-8") as f:
                f.write("org_id,name,org_type\nB01,测试支部,党支部\n")
            subprocess.run([a.bin, "--lake", lake, "import", "organizations", org], check=True, stdout=subprocess.DEVNULL)
            cmd = [a.bin, "--lake", lake, "import", "members", path, "--mode", "append"]
            if a.no_index:
                cmd.append("--no-index")
            t1, m1 = run_measured(cmd)
            out = os.path.join(work, f"duck-{fmt}-{i}.parquet")
            t2, m2 = run_measured([sys.executable, "-c",
                                   f"import duckdb; duckdb.connect().execute(\"COPY (SELECT * FROM {duck}('{path}')) TO '{out}' (FORMAT parquet)\")"])
            d_t.append(t1); d_m.append(m1); k_t.append(t2); k_m.append(m2); ratios.append(t1 / t2)
            shutil.rmtree(lake, ignore_errors=True)
        results[fmt] = (statistics.median(d_t), statistics.median(k_t), statistics.median(ratios), max(d_m), max(k_m))
    print(f"{a.rows:,} member rows; {a.runs} alternating runs; medians\n")
    print("| input | dangan import (s) | DuckDB COPY (s) | ratio (median of runs) | dangan peak MB | DuckDB peak MB |")
    print("|---|---|---|---|---|---|")
    for fmt, (dt, kt, r, dm, km) in results.items():
        print(f"| {fmt} | {dt:.2f} | {kt:.2f} | {r:.2f} | {dm:.0f} | {km:.0f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

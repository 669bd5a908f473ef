#!/usr/bin/env python3
"""The import as a user types it — the defaults — beside DuckDB and polars, in the same run
(issue 25, targets 1–3).

    cargo build --release
    pip install duckdb polars fastexcel xlsxwriter
    python3 bench/default_import.py --rows 300000 --xlsx-rows 100000 --runs 3

Writes a roster of member rows (valid ID numbers, the Chinese headers branches use) as UTF-8
CSV and as xlsx, then alternates, each dangan run in a fresh lake that holds the branch:

  default      `dangan import members roster.csv` — upsert (the spec's mode), every check, one
               Delta commit, the search index brought in step;
  --no-index   the same without the index step;
  append       `--mode append --no-index` (the narrow path the older figures measured);
  resend       the default again on a lake that holds the roster, with a new file in which 1%
               of the members changed (a month's re-sent roster: the MERGE path);
  name index   `dangan index rebuild` on the lake of the default run: member documents/s;
  xlsx         `dangan import members roster.xlsx` (default) beside polars
               `read_excel` (calamine) + `write_parquet`.

DuckDB: COPY (FROM read_csv(file)) TO parquet — no checks. Every time is a fresh process;
peak memory is the child's ru_maxrss. Prints medians and the median of per-run ratios.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
C = "10X98765432"
HEAD = ["党员编号", "姓名", "性别", "民族", "出生日期", "身份证号", "联系电话", "学历", "所在党支部",
        "人员类别", "入党时间", "转正时间", "工作单位", "职务", "党籍状态"]


# --wide-names: given-name characters enough that nearly every member's name is their own (the
# worst case of a name index that caches a name's pinyin: ~250,000 distinct names in 300,000).
GIVEN_WIDE = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌海波辉鹏飞宇浩"
              "俊峰晨阳林雪梅琳婷慧莹颖晶佳欣悦怡丹彤璐瑶薇洁蕾倩雯楠亮毅勤健康宁安春秋冬夏"
              "东南西北江河湖山川石金银铜铁木水火土天地日月星云雨风雷电光明清白青黄紫绿蓝"
              "德仁义礼智信忠孝廉耻诚善美真和顺福禄寿喜庆祥瑞吉昌盛兴旺发达成功胜利凯荣耀"
              "博学思睿哲贤良")
WIDE_NAMES = False


def rows(n, seed=1, changed=0.0):
    rnd = random.Random(seed)
    ch = random.Random(seed + 1)
    sur = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
    giv = GIVEN_WIDE if WIDE_NAMES else "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
    for i in range(n):
        y, m, d = rnd.randint(1950, 2000), rnd.randint(1, 12), rnd.randint(1, 28)
        male = rnd.random() < 0.6
        body = f"320106{y:04d}{m:02d}{d:02d}{rnd.randint(0, 49) * 2 + (1 if male else 0):03d}"
        idn = body + C[sum(int(a) * w for a, w in zip(body, W)) % 11]
        jy = y + rnd.randint(20, 25)
        phone = f"138{rnd.randint(0, 99999999):08d}"
        name = rnd.choice(sur) + rnd.choice(giv) + rnd.choice(giv)
        if changed and ch.random() < changed:
            phone = f"139{ch.randint(0, 99999999):08d}"
        yield [f"M{i:08d}", name, "男" if male else "女", "汉族", f"{y}-{m:02d}-{d:02d}", idn, phone,
               "大学本科", "B01", "正式党员", f"{jy}-07-01", f"{jy + 1}-07-01", "测试单位", "科员", "正常"]


def write_csv(path, n, changed=0.0):
    with open(path, "w", encoding="utf-8") as c:
        c.write(",".join(HEAD) + "\n")
        for r in rows(n, changed=changed):
            c.write(",".join(r) + "\n")


def write_xlsx(path, n):
    import xlsxwriter
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("花名册")
    ws.write_row(0, 0, HEAD)
    for i, r in enumerate(rows(n), start=1):
        ws.write_row(i, 0, r)
    wb.close()


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


def fresh_lake(bin_, work, name):
    lake = os.path.join(work, name)
    shutil.rmtree(lake, ignore_errors=True)
    subprocess.run([bin_, "--lake", lake, "init"], check=True, stdout=subprocess.DEVNULL)
    org = os.path.join(work, "org.csv")
    with open(org, "w", encoding="utf-8") as f:
        f.write("org_id,name,org_type\nB01,测试支部,党支部\n")
    subprocess.run([bin_, "--lake", lake, "import", "organizations", org], check=True,
                   stdout=subprocess.DEVNULL)
    return lake


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "dangan"))
    ap.add_argument("--only", nargs="*", default=["csv", "xlsx"])
    ap.add_argument("--wide-names", action="store_true",
                    help="nearly every name distinct (the name index's worst case)")
    a = ap.parse_args()
    global WIDE_NAMES
    WIDE_NAMES = a.wide_names
    work = tempfile.mkdtemp(prefix="dangan-default-")
    csv_path = os.path.join(work, "roster.csv")
    resend = os.path.join(work, "roster-next-month.csv")
    xlsx_path = os.path.join(work, "roster.xlsx")
    write_csv(csv_path, a.rows)
    write_csv(resend, a.rows, changed=0.01)
    if "xlsx" in a.only:
        write_xlsx(xlsx_path, a.xlsx_rows)
    out = os.path.join(work, "duck.parquet")
    duck = [sys.executable, "-c",
            f"import duckdb; duckdb.connect().execute(\"COPY (FROM read_csv('{csv_path}')) TO '{out}' (FORMAT parquet)\")"]
    polars = [sys.executable, "-c",
              f"import polars as pl; pl.read_excel('{xlsx_path}').write_parquet('{out}')"]
    m = {}

    def add(k, t, mb):
        m.setdefault(k, []).append((t, mb))

    for i in range(a.runs):
        if "csv" in a.only:
            add("duckdb", *run_measured(duck))
            lake = fresh_lake(a.bin, work, "lake")
            add("default", *run_measured([a.bin, "--lake", lake, "import", "members", csv_path]))
            add("resend", *run_measured([a.bin, "--lake", lake, "import", "members", resend]))
            add("name index", *run_measured([a.bin, "--lake", lake, "index", "rebuild"]))
            lake = fresh_lake(a.bin, work, "lake")
            add("no-index", *run_measured([a.bin, "--lake", lake, "import", "members", csv_path, "--no-index"]))
            lake = fresh_lake(a.bin, work, "lake")
            add("append", *run_measured([a.bin, "--lake", lake, "import", "members", csv_path,
                                         "--mode", "append", "--no-index"]))
        if "xlsx" in a.only:
            add("polars", *run_measured(polars))
            lake = fresh_lake(a.bin, work, "lake")
            add("xlsx default", *run_measured([a.bin, "--lake", lake, "import", "members", xlsx_path]))

    def med(k):
        return statistics.median(t for t, _ in m[k])

    def peak(k):
        return max(mb for _, mb in m[k])

    def ratio(k, base):
        return statistics.median(t / b for (t, _), (b, _) in zip(m[k], m[base]))

    print(f"{a.rows:,} roster rows (CSV), {a.xlsx_rows:,} (xlsx); {a.runs} alternating runs; medians\n")
    print("| path | dangan (s) | peak MB | beside | its time (s) | its peak MB | ratio (median of runs) |")
    print("|---|---|---|---|---|---|---|")
    rows_ = [("default", "duckdb"), ("no-index", "duckdb"), ("append", "duckdb"), ("resend", "duckdb")]
    for k, base in rows_:
        if k in m:
            print(f"| {k} | {med(k):.2f} | {peak(k):.0f} | DuckDB COPY | {med(base):.2f} | {peak(base):.0f} | {ratio(k, base):.2f} |")
    if "default" in m:
        print(f"| upsert (default --no-index) / append --no-index | | | | | | {ratio('no-index', 'append'):.2f} |")
        t = med("name index")
        print(f"| name index rebuild ({a.rows:,} member documents) | {t:.2f} | {peak('name index'):.0f} | | | | {a.rows / t:,.0f} docs/s (process included) |")
    if "xlsx default" in m:
        print(f"| xlsx default | {med('xlsx default'):.2f} | {peak('xlsx default'):.0f} | polars read_excel + write_parquet | {med('polars'):.2f} | {peak('polars'):.0f} | {ratio('xlsx default', 'polars'):.2f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

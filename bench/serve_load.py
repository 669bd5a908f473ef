#!/usr/bin/env python3
"""Load on the search endpoint of `dangan serve` from a second process on loopback (wrk).

    python3 bench/serve_load.py --lake /tmp/dangan-sql-bench/lake-1000000 [--no-build]

The lake is the 1,000,000-member one of bench/sql_vs_duckdb.py with its search index synced
(`dangan index sync`). A department `bench_all` granted every dataset (scope all) is used;
a fresh token is made for it each run. Needs `wrk` (Debian: apt-get install wrk).
Prints requests/s and latency percentiles at 16 concurrent connections per query; with --mix,
for a rotating mix of 40 queries asked as the page asks them (hits, then counts); with
--search-cache N the server keeps results while the index does not change.
"""

import argparse
import os
import re
import subprocess
import sys
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", "/work/target-cache")
BIN = os.path.join(TARGET, "release", "dangan")

# The rotating mix: words and pairs an organizer types, each asked as the page asks it (the
# hits, then the counts of every match in a second request).
MIX_WORDS = [
    "学习", "党史", "志愿服务", "形式主义", "三会一课", "主题党日", "组织生活", "理论学习", "社区",
    "群众", "服务", "活动", "会议", "思想汇报", "廉洁", "担当", "作风", "整改", "批评", "困难",
    "帮扶", "乡村振兴", "党课", "党费", "发展党员", "培训", "调研", "走访", "慰问", "基层",
    "意见", "建议", "问题", "满意", "学习 党史", "志愿服务 社区", "整改 问题", "党课 学习",
    "zhangwei", "wangfang",
]

QUERIES = [
    ("one word, every dataset", {"q": "志愿服务", "limit": "20"}),
    ("two words, growth records", {"q": "学习 党史", "dataset": "growth_records", "limit": "20"}),
    ("a name in pinyin, members", {"q": "zhangwei", "dataset": "members", "limit": "20"}),
    ("a phrase", {"q": '"形式主义"', "limit": "20"}),
    ("one word, with facets (the page's search)", {"q": "志愿服务", "limit": "20", "facets": "true"}),
]


def dangan(lake, *args):
    return subprocess.run([BIN, "--lake", lake, *args], check=True, capture_output=True, text=True).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", default="/tmp/dangan-sql-bench/lake-1000000")
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--search-cache", type=int, default=0,
                    help="the server's --search-cache (0: every request searches)")
    ap.add_argument("--mix", choices=["page", "hits"],
                    help="instead of one query at a time: a rotating mix of 40 queries, asked as the "
                         "page asks them (hits, then counts) or hits only")
    ap.add_argument("--warm", action="store_true",
                    help="ask every request of the mix once before measuring (a warm cache)")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "--bin", "dangan", "--example", "sql_bench"], cwd=ROOT, check=True)
    departments = dangan(a.lake, "access", "list")
    if "bench_all" not in departments:
        dangan(a.lake, "access", "department", "add", "bench_all")
    for ds in ["members", "growth_records", "appraisals", "feedback", "meetings", "publications", "survey_responses", "organizations"]:
        dangan(a.lake, "access", "grant", "bench_all", ds, "--scope", "all")
    token = dangan(a.lake, "access", "token", "create", "--department", "bench_all").strip().splitlines()[-1]
    server = subprocess.Popen([BIN, "--lake", a.lake, "serve", "--addr", "127.0.0.1:0",
                               "--search-cache", str(a.search_cache)], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        port = re.search(r"127\.0\.0\.1:(\d+)", line).group(1)
        print(f"server on port {port} (--search-cache {a.search_cache}); {a.connections} connections, {a.duration} s per line\n")
        print("| query | requests/s | p50 ms | p90 ms | p99 ms | errors |")
        print("|---|---|---|---|---|---|")
        runs = list(QUERIES)
        if a.mix:
            paths = []
            for w in MIX_WORDS:
                paths.append(urllib.parse.urlencode({"q": w, "limit": "30"}))
                if a.mix == "page":
                    paths.append(urllib.parse.urlencode({"q": w, "limit": "1", "facets": "true"}))
            what = "(hits, counts)" if a.mix == "page" else "hits"
            runs = [(f"mix of {len(MIX_WORDS)} queries × {what}, rotating{', warm' if a.warm else ''}", paths)]
        for name, params in runs:
            base = f"http://127.0.0.1:{port}/api/v1/search?"
            url = base + (params[0] if isinstance(params, list) else urllib.parse.urlencode(params))
            # Warm: the first request opens the department's session and the index.
            subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", f"Authorization: Bearer {token}", url], check=True)
            cmd = ["wrk", "-t2", f"-c{a.connections}", f"-d{a.duration}s", "--latency", "-H", f"Authorization: Bearer {token}"]
            if isinstance(params, list) and a.warm:
                for path in params:
                    subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", f"Authorization: Bearer {token}", base + path], check=True)
            if isinstance(params, list):
                lua = "/tmp/dangan-serve-mix.lua"
                with open(lua, "w") as f:
                    f.write("local paths = {" + ",".join('"/api/v1/search?' + p + '"' for p in params) + "}\n")
                    f.write("local i = 0\nrequest = function()\n  i = i + 1\n"
                            "  return wrk.format(nil, paths[(i % #paths) + 1])\nend\n")
                cmd += ["-s", lua]
            out = subprocess.run(cmd + [url], check=True, capture_output=True, text=True).stdout
            rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)

            def pct(p):
                m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
                v, unit = float(m.group(1)), m.group(2)
                return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

            errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            print(f"| {name} | {float(rps):.0f} | {pct(50):.1f} | {pct(90):.1f} | {pct(99):.1f} | {errors.group(1) if errors else 0} |")
            sys.stdout.flush()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

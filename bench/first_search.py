#!/usr/bin/env python3
"""The page's first search, as a lone organizer meets it: latency of `/api/v1/search` with facets
on a freshly started `dangan serve` (no result cache), and of a search after a pause.

    python3 bench/first_search.py --lake L --bin A [--bin B ...] [--rounds 3]

For each round and each binary (alternating): start the server, wait --settle seconds, open the
department's session with `SELECT 1` over the API, then per word: the first search, four more
at once, then one after a --pause (longer than the server's 10 s session and index looks: the
search that meets them due). Prints the median over rounds of each figure, per binary.
The lake is one with its index synced (the 1M lake of `dangan generate --members 1000000`).
"""

import argparse
import statistics
import subprocess
import time
import urllib.parse
import urllib.request

WORDS = ["学习", "志愿服务"]


def call(port, token, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body,
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req) as r:
        r.read()
    return (time.perf_counter() - t) * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", required=True)
    ap.add_argument("--bin", action="append", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=8)
    ap.add_argument("--pause", type=float, default=12)
    ap.add_argument("--port", type=int, default=18182)
    a = ap.parse_args()
    dangan = lambda b, *args: subprocess.run([b, "--lake", a.lake, *args], check=True,
                                             capture_output=True, text=True).stdout
    b0 = a.bin[0]
    if "bench_all" not in dangan(b0, "access", "list"):
        dangan(b0, "access", "department", "add", "bench_all")
    for ds in ["members", "growth_records", "feedback", "survey_responses", "organizations"]:
        dangan(b0, "access", "grant", "bench_all", ds, "--scope", "all")
    token = dangan(b0, "access", "token", "create", "--department", "bench_all").strip().splitlines()[-1]
    figures = {b: {} for b in a.bin}
    for _ in range(a.rounds):
        for b in a.bin:
            server = subprocess.Popen([b, "--lake", a.lake, "serve", "--addr", f"127.0.0.1:{a.port}",
                                       "--search-cache", "0"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL)
            try:
                time.sleep(a.settle)
                f = figures[b]
                f.setdefault("session (SELECT 1)", []).append(
                    call(a.port, token, "/api/v1/sql", b'{"sql":"select 1"}'))
                for w in WORDS:
                    path = "/api/v1/search?" + urllib.parse.urlencode(
                        {"q": w, "limit": "10", "facets": "true"})
                    f.setdefault(f"{w}: first", []).append(call(a.port, token, path))
                    f.setdefault(f"{w}: warm (median of 4)", []).append(
                        statistics.median(call(a.port, token, path) for _ in range(4)))
                    time.sleep(a.pause)
                    f.setdefault(f"{w}: after a {a.pause:.0f} s pause", []).append(
                        call(a.port, token, path))
            finally:
                server.terminate()
                server.wait()
    names = list(next(iter(figures.values())).keys())
    print("| ms (median of %d rounds) | %s |" % (a.rounds, " | ".join(a.bin)))
    print("|---|" + "---|" * len(a.bin))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{statistics.median(figures[b][n]):.0f}" for b in a.bin) + " |")


if __name__ == "__main__":
    main()

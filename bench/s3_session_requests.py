#!/usr/bin/env python3
"""What one `dangan sql` asks a lake on S3 once the lake has seen many queries: requests and
time, per binary, same run.

    python3 bench/s3_session_requests.py --archive /tmp/arch2k --bin OLD --bin NEW [--queries 60]

A `moto[server]` S3 server on loopback logs every request; for each binary: a fresh lake in the
bucket, `organizations` and `members` imported, then `--queries` runs of `dangan sql "select
count(*) from members"` — each one a commit of the audit table, as on a lake in use — and the
requests and seconds of five more, averaged.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from s3_moto import Moto


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--archive", required=True)
    ap.add_argument("--bin", action="append", required=True)
    ap.add_argument("--queries", type=int, default=60)
    args = ap.parse_args()
    moto = Moto("s3-session-")
    out = []
    try:
        for n, binary in enumerate(args.bin):
            lake = os.path.join(moto.work, f"lake{n}")

            def d(*a):
                p = subprocess.run([binary, "--lake", lake, *a], env=moto.env, capture_output=True, text=True)
                assert p.returncode in (0, 3), p.stderr
                return p

            d("init", "--storage", f"s3://bench/lake{n}")
            for ds in ["organizations", "members"]:
                d("import", ds, os.path.join(args.archive, ds), "--no-index")
            query = ["sql", "select count(*) from members"]
            for _ in range(args.queries):
                d(*query)
            moto.mark()
            t = time.perf_counter()
            for _ in range(5):
                d(*query)
            took = (time.perf_counter() - t) / 5
            methods = moto.requests()
            per = {m: c / 5 for m, c in methods.items()}
            entry = {"bin": binary, "seconds": round(took, 2), "requests": per, "total": sum(per.values())}
            print(f"{binary}: {took:.2f} s, {sum(per.values()):.0f} requests per query {per}", file=sys.stderr)
            out.append(entry)
    finally:
        moto.stop()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What an import into a lake on S3 asks the bucket: requests and time, per binary, same run.

    python3 bench/s3_import_requests.py --archive /tmp/arch20k --bin OLD --bin NEW

A `moto[server]` S3 server on loopback logs every request; for each binary: a fresh lake in
the bucket (`dangan init --storage s3://bench/<n>`), `dangan import organizations`, then
`dangan import members <folder>` twice — the first imports every workbook, the second finds
every one already in (each file's marker looked up). Prints requests by method and seconds.
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
    args = ap.parse_args()
    moto = Moto("s3-import-")
    env, work = moto.env, moto.work
    out = []
    try:
        for n, binary in enumerate(args.bin):
            lake = os.path.join(work, f"lake{n}")
            d = lambda *a: subprocess.run([binary, "--lake", lake, *a], env=env, capture_output=True, text=True)
            p = d("init", "--storage", f"s3://bench/lake{n}")
            assert p.returncode == 0, p.stderr
            p = d("import", "organizations", os.path.join(args.archive, "organizations"))
            assert p.returncode in (0, 3), p.stderr
            entry = {"bin": binary}
            for run in ["first", "again"]:
                moto.mark()
                t = time.perf_counter()
                p = d("import", "members", os.path.join(args.archive, "members"), "--no-index")
                took = time.perf_counter() - t
                assert p.returncode in (0, 3), p.stderr
                methods = moto.requests()
                entry[run] = {"seconds": round(took, 2), "requests": dict(methods), "total": sum(methods.values())}
                print(f"{binary} {run}: {took:.1f} s, {sum(methods.values())} requests {dict(methods)}", file=sys.stderr)
            out.append(entry)
    finally:
        moto.stop()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

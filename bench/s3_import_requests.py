#!/usr/bin/env python3
"""What an import into a lake on S3 asks the bucket: requests and time, per binary, same run.

    python3 bench/s3_import_requests.py --archive /tmp/arch20k --bin OLD --bin NEW

A `moto[server]` S3 server on loopback logs every request; for each binary: a fresh lake in
the bucket (`dangan init --storage s3://bench/<n>`), `dangan import organizations`, then
`dangan import members <folder>` twice — the first imports every workbook, the second finds
every one already in (each file's marker looked up). Prints requests by method and seconds.
"""
import argparse
import collections
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--archive", required=True)
    ap.add_argument("--bin", action="append", required=True)
    args = ap.parse_args()
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    work = tempfile.mkdtemp(prefix="s3-import-")
    log = open(os.path.join(work, "moto.log"), "w+")
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(urllib.request.Request(f"{endpoint}/bench", method="PUT"))
            break
        except Exception:
            time.sleep(0.2)
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s",
               AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
    env.pop("DANGAN_LAKE", None)
    line = re.compile(r'"(GET|PUT|HEAD|POST|DELETE) ')
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
                log.seek(0, 2)
                start = log.tell()
                t = time.perf_counter()
                p = d("import", "members", os.path.join(args.archive, "members"), "--no-index")
                took = time.perf_counter() - t
                assert p.returncode in (0, 3), p.stderr
                time.sleep(0.5)
                log.seek(start)
                methods = collections.Counter(m.group(1) for m in map(line.search, log.read().splitlines()) if m)
                entry[run] = {"seconds": round(took, 2), "requests": dict(methods), "total": sum(methods.values())}
                print(f"{binary} {run}: {took:.1f} s, {sum(methods.values())} requests {dict(methods)}", file=sys.stderr)
            out.append(entry)
    finally:
        moto.terminate()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

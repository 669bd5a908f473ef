"""A `moto[server]` S3 server on loopback that logs every request (for bench/s3_*.py)."""
import collections
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

LINE = re.compile(r'"(GET|PUT|HEAD|POST|DELETE) ')


class Moto:
    """Started with a bucket `bench`; `env` points dangan at it; `requests()` counts the
    requests logged since `mark()`."""

    def __init__(self, prefix):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        self.work = tempfile.mkdtemp(prefix=prefix)
        self.log = open(os.path.join(self.work, "moto.log"), "w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                     stdout=self.log, stderr=self.log)
        endpoint = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(urllib.request.Request(f"{endpoint}/bench", method="PUT"))
                break
            except Exception:
                time.sleep(0.2)
        self.env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s",
                        AWS_REGION="us-east-1", AWS_ALLOW_HTTP="true")
        self.env.pop("DANGAN_LAKE", None)
        self.start = 0

    def mark(self):
        self.log.seek(0, 2)
        self.start = self.log.tell()

    def requests(self):
        """Requests by method since `mark()` (after a moment for the log to catch up)."""
        time.sleep(0.5)
        self.log.seek(self.start)
        return collections.Counter(m.group(1) for m in map(LINE.search, self.log.read().splitlines()) if m)

    def stop(self):
        self.proc.terminate()

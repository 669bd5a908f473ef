"""Browser peer for tests/e2e/serve.rs: drives the web page's import tab in headless Chromium
over the DevTools protocol (a small WebSocket client from the standard library, so nothing to
install): signs in with a link, picks a CSV file, reads the preview, confirms, then opens the
run's quarantine page. Prints one JSON object of what the page showed.

usage: browser_upload.py CHROMIUM http://127.0.0.1:PORT TOKEN PROFILE_DIR
"""

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request

chromium, base, token, profile = sys.argv[1:5]

CSV = (
    "member_id,name,gender,birth_date,org_id,category,join_date,id_number\n"
    "R30,周三十,男,1980-01-01,D121,正式党员,2005-07-01,\n"
    "R31,吴卅一,女,1981-02-02,D121,正式党员,2006-07-01,320102198102020001\n"
)


class Ws:
    """A WebSocket client: enough of RFC 6455 for the DevTools protocol."""

    def __init__(self, url):
        rest = url.split("://", 1)[1]
        hostport, path = rest.split("/", 1)
        host, port = hostport.split(":")
        self.s = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.s.recv(1)
        assert b" 101 " in head.split(b"\r\n")[0], head
        self.next_id = 0

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("DevTools closed the connection")
            buf += chunk
        return buf

    def _frame(self):
        b0, b1 = self._recv_exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._recv_exact(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._recv_exact(8))[0]
        return b0 & 0x0F, b0 & 0x80, self._recv_exact(n)

    def recv(self):
        data = b""
        while True:
            op, fin, payload = self._frame()
            if op == 9:  # ping
                continue
            data += payload
            if fin:
                return json.loads(data)

    def call(self, method, **params):
        self.next_id += 1
        msg = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        n = len(msg)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
        while True:
            m = self.recv()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(m["error"])
                return m["result"]


def main():
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        ws = Ws(page["webSocketDebuggerUrl"])

        def js(expr):
            r = ws.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
            if "exceptionDetails" in r:
                raise RuntimeError(r["exceptionDetails"])
            return r["result"].get("value")

        def wait(expr, what, seconds=30):
            for _ in range(seconds * 10):
                v = js(expr)
                if v:
                    return v
                time.sleep(0.1)
            raise TimeoutError(f"{what}: {js('document.body.innerHTML')}")

        out = {}
        ws.call("Page.navigate", url=f"{base}/#signin={token}&to=import")
        wait("!!document.querySelector('#if')", "the import form")
        js(
            "(() => { const dt = new DataTransfer();"
            f" dt.items.add(new File([{json.dumps(CSV)}], '新党员.csv', {{type: 'text/csv'}}));"
            " const i = document.querySelector('#file'); i.files = dt.files;"
            " document.querySelector('#ids').value = 'members';"
            " document.querySelector('#if').requestSubmit(); })()"
        )
        wait("!!document.querySelector('#confirm')", "the preview")
        out["preview_written"] = js("document.querySelector('#rows-written').innerText")
        out["preview_quarantined"] = js("document.querySelector('#rows-quarantined').innerText")
        out["preview_rejects"] = js("document.querySelector('#rejects').innerText")
        js("document.querySelector('#confirm').click()")
        heading = wait(
            "(() => { const h = [...document.querySelectorAll('h3')].find((h) => h.innerText.includes('已导入')); return h && h.innerText; })()",
            "the confirmation",
        )
        out["confirmed"] = heading
        run = heading.split("批次")[-1].strip()
        out["written"] = js("document.querySelector('#rows-written').innerText")
        # The run list below, refreshed, links the run's quarantine.
        wait(f"!!document.querySelector('#run-list a[href=\"#quarantine/{run}\"]')", "the run list")
        js(f"location.hash = '#quarantine/{run}'")
        out["quarantine"] = wait(
            "document.querySelector('#q-rows') && document.querySelector('#q-rows').innerText",
            "the quarantine page",
        )
        out["fixes_button"] = js("!!document.querySelector('#q-fixes')")
        print(json.dumps(out, ensure_ascii=False))
    finally:
        proc.terminate()
        proc.wait()


main()

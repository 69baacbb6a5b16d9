"""Headless Chromium for tests, with every request it makes routed to a recording proxy on loopback."""

from __future__ import annotations

import html
import json
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

QUIET = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--metrics-recording-only", "--no-pings", "--disable-breakpad",
    "--disable-client-side-phishing-detection", "--disable-domain-reliability",
    "--disable-features=Translate,OptimizationHints,MediaRouter,NetworkTimeServiceQuerying",
    "--virtual-time-budget=3000",  # let subresources load before the dump or screenshot
]
# The browser's own calls that no flag turns off in this build; they reach only the proxy below.
BROWSER_HOSTS = ("update.googleapis.com", "accounts.google.com", "clients2.google.com")


class RecordingProxy:
    """Accepts every connection, records its request line, answers 502."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                first = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
                self.requests.append(first)
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    @property
    def page_requests(self) -> list[str]:
        return [r for r in self.requests if not any(host in r for host in BROWSER_HOSTS)]

    def close(self) -> None:
        self._server.close()


def chromium(url: str, proxy: RecordingProxy, *extra: str) -> str:
    binary = shutil.which("chromium")
    if binary is None:
        raise RuntimeError("chromium is not installed: apt-get install chromium (see README)")
    args = [binary, *QUIET, f"--proxy-server=http://127.0.0.1:{proxy.port}",
            "--proxy-bypass-list=<-loopback>", "--window-size=1300,800", *extra, url]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout


def screenshot(url: str, proxy: RecordingProxy, out: Path) -> Path:
    chromium(url, proxy, f"--screenshot={out}")
    return out


def measure(page: Path, proxy: RecordingProxy, expression: str, *extra: str) -> object:
    """The JSON value of a JavaScript `expression` evaluated in `page` once its own script has run
    (so after the lineage is fitted): the page is copied beside itself with one script appended,
    and the value read back from the dumped DOM. Layout above the probe is the page's own."""
    probe = page.with_name(page.stem + ".probe.html")
    script = ('<script>(function () { var out = document.createElement("pre"); out.id = "probe"; '
              f'out.textContent = JSON.stringify({expression}); document.body.appendChild(out); }})();</script>')
    probe.write_text(page.read_text().replace("</body>", script + "</body>"))
    try:
        dom = chromium(probe.as_uri(), proxy, "--dump-dom", *extra)
    finally:
        probe.unlink()
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    if found is None:
        raise AssertionError(f"the probe found nothing in {page}: its expression threw")
    return json.loads(html.unescape(found.group(1)))

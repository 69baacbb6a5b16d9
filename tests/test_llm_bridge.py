"""A network-less container reaches a host HTTP server on a unix socket, and nothing else."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading

from sandbox.container import Sandbox
from sandbox.llm_bridge import llm_env, llm_mounts, with_bridge


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_GET(self) -> None:
        _Handler.seen.append({"path": self.path, "auth": self.headers.get("Authorization")})
        body = json.dumps({"object": "list", "data": [{"id": "gateway"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def address_string(self) -> str:  # unix sockets have no client address
        return "unix"

    def log_message(self, *args) -> None:
        pass


PROBE = """
import json, os, urllib.request
req = urllib.request.Request(os.environ["OPENAI_BASE_URL"] + "/models",
                             headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"]})
print(json.load(urllib.request.urlopen(req, timeout=10))["data"][0]["id"])
print(sorted(os.listdir("/sys/class/net")))
"""


def test_container_reaches_the_gateway_socket_through_the_bridge(sandbox_image, tmp_path):
    socket_path = tmp_path / "gw" / "llm.sock"
    socket_path.parent.mkdir()
    server = _UnixHTTPServer(str(socket_path), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        command = with_bridge(["python3", "-c", PROBE], socket_path.name)
        with Sandbox(sandbox_image, command, env=llm_env("tok-123"), mounts=llm_mounts(socket_path)) as box:
            result = box.run()
    finally:
        server.shutdown()
        server.server_close()
    assert result.ok, result.stderr
    assert result.stdout.split("\n")[:2] == ["gateway", "['lo']"]
    assert _Handler.seen == [{"path": "/v1/models", "auth": "Bearer tok-123"}]

"""JSON responses for the stdlib HTTP servers dgm runs (the gateway, the scripted model)."""

from __future__ import annotations

import http.server
import json


def send_json(handler: http.server.BaseHTTPRequestHandler, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)

"""HTTP serving that a container cannot exhaust: a fixed pool of handler threads, a bounded queue
of accepted connections (the rest are closed at once), a read timeout per connection, and a
request body whose declared length is checked before a byte of it is read."""

from __future__ import annotations

import http.server
import socketserver
import threading
from concurrent.futures import ThreadPoolExecutor

WORKERS = 64  # handler threads; a model call holds one for its whole duration
QUEUED = 256  # accepted connections waiting for a worker; past that, new ones are closed
READ_TIMEOUT = 15.0  # seconds a client may take to send its request
MAX_BODY = 16 * 1024 * 1024  # bytes; a long agent history is about 1 MB


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Bounded:
    """The pool and queue of a socketserver (mixed in before the server class)."""

    def _start_pool(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="gateway")
        self._waiting = threading.BoundedSemaphore(WORKERS + QUEUED)

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        if not self._waiting.acquire(blocking=False):
            self.shutdown_request(request)  # type: ignore[attr-defined]
            return
        self._pool.submit(self._handle, request, client_address)

    def _handle(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        try:
            self.finish_request(request, client_address)  # type: ignore[attr-defined]
        except Exception:
            self.handle_error(request, client_address)  # type: ignore[attr-defined]
        finally:
            self.shutdown_request(request)  # type: ignore[attr-defined]
            self._waiting.release()

    def server_close(self) -> None:
        super().server_close()  # type: ignore[misc]
        self._pool.shutdown(wait=False, cancel_futures=True)

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        pass  # a client that hung up or timed out is its own problem, not the run's log's


class TCPServer(_Bounded, http.server.HTTPServer):
    def __init__(self, address: tuple[str, int], handler: type[socketserver.BaseRequestHandler]) -> None:
        super().__init__(address, handler)
        self._start_pool()


class UnixServer(_Bounded, socketserver.UnixStreamServer):
    def __init__(self, path: str, handler: type[socketserver.BaseRequestHandler]) -> None:
        super().__init__(path, handler)
        self._start_pool()


def read_body(handler: http.server.BaseHTTPRequestHandler, limit: int = MAX_BODY) -> bytes:
    """The request body, refused unread unless its Content-Length is a number within `limit`."""
    if handler.headers.get("Transfer-Encoding"):
        raise BadRequest(411, "chunked bodies are not accepted: send Content-Length")
    raw = handler.headers.get("Content-Length", "0")
    if not raw.isdigit():
        raise BadRequest(400, f"bad Content-Length {raw[:40]!r}")
    if int(raw) > limit:
        raise BadRequest(413, f"the body of {int(raw)} bytes is over the gateway's limit of {limit}")
    return handler.rfile.read(int(raw))

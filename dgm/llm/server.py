"""HTTP serving that a container cannot exhaust. An accepted connection waits in a selector, holding
no thread, until its request starts to arrive (or READ_TIMEOUT passes: closed); only then does one
of a fixed pool of handler threads take it, and the whole request (headers and body) must arrive
within READ_TIMEOUT, however slowly it trickles, or its reading is cut off. Past QUEUED waiting
connections, the longest-waiting one is closed for each new one: a flood of idle connections cannot
lock out a caller that sends its request at once. A request body's declared length is checked
before a byte of it is read.
"""

from __future__ import annotations

import http.server
import queue
import selectors
import socket
import socketserver
import threading
import time

WORKERS = 64  # handler threads; a model call holds one for its whole duration
QUEUED = 1024  # connections accepted and waiting for their request; past that, the oldest is closed
READ_TIMEOUT = 15.0  # seconds a client may take to start its request, and then to send all of it
MAX_BODY = 16 * 1024 * 1024  # bytes; a long agent history is about 1 MB


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Bounded:
    """The selector, pool and queue of a socketserver (mixed in before the server class)."""

    request_queue_size = 128  # the listen backlog: accepting is quick, so bursts of clients get in

    def _start_pool(self) -> None:
        # daemon threads, not an executor's: a model call in flight (minutes, with retries) must not
        # hold up the exit of `dgm run`
        self._ready: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(WORKERS):
            threading.Thread(target=self._work, daemon=True, name="gateway").start()
        self._idle = selectors.DefaultSelector()
        self._idle_lock = threading.Lock()
        self._reading: dict[socket.socket, float] = {}  # connections a handler reads, with their deadline
        self._closing = threading.Event()
        threading.Thread(target=self._watch_idle, daemon=True).start()

    def process_request(self, request: socket.socket, client_address: object) -> None:
        with self._idle_lock:
            if len(self._idle.get_map()) >= QUEUED:
                # the oldest goes, not the newest: a caller's request follows its connect at once
                oldest = min(self._idle.get_map().values(), key=lambda key: key.data[1])
                self._idle.unregister(oldest.fileobj)
                self.shutdown_request(oldest.fileobj)  # type: ignore[attr-defined]
            self._idle.register(request, selectors.EVENT_READ, (client_address, time.monotonic()))

    def _watch_idle(self) -> None:
        while not self._closing.is_set():
            for key, _ in self._idle.select(timeout=0.5):
                with self._idle_lock:
                    self._idle.unregister(key.fileobj)
                self._ready.put((key.fileobj, key.data[0]))
            now = time.monotonic()
            with self._idle_lock:
                stale = [k for k in self._idle.get_map().values() if now - k.data[1] > READ_TIMEOUT]
                for key in stale:
                    self._idle.unregister(key.fileobj)
                    self.shutdown_request(key.fileobj)  # type: ignore[attr-defined]
                late = [request for request, deadline in self._reading.items() if now > deadline]
                for request in late:
                    del self._reading[request]
                    _cut_reading(request)  # the handler's read returns short; it answers 400 and closes

    def _work(self) -> None:
        while (job := self._ready.get()) is not None:
            request, client_address = job
            with self._idle_lock:
                self._reading[request] = time.monotonic() + READ_TIMEOUT
            try:
                self.finish_request(request, client_address)  # type: ignore[attr-defined]
            except Exception:
                pass  # a client that hung up or timed out is its own problem, not the run's
            finally:
                self.read_all(request)
                self.shutdown_request(request)  # type: ignore[attr-defined]

    def read_all(self, request: socket.socket) -> None:
        """The request is read: what the handler does next (a model call) has no deadline here."""
        with self._idle_lock:
            self._reading.pop(request, None)

    def server_close(self) -> None:
        self._closing.set()
        super().server_close()  # type: ignore[misc]
        for _ in range(WORKERS):
            self._ready.put(None)


def _cut_reading(request: socket.socket) -> None:
    try:
        request.shutdown(socket.SHUT_RD)
    except OSError:
        pass  # already gone


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
    body = handler.rfile.read(int(raw))
    handler.server.read_all(handler.request)  # type: ignore[attr-defined]
    if len(body) < int(raw):
        raise BadRequest(400, f"the body ended after {len(body)} of its {int(raw)} bytes (sent too slowly?)")
    return body

"""How a container with no network reaches the run's LLM gateway.

The gateway listens on a unix socket on the host; the socket's directory is bind-mounted into
the container, and `socat` inside turns it into an HTTP endpoint on the container's own
loopback. The container gets a per-task token as its "API key"; real keys stay on the host.
"""

from __future__ import annotations

import os
import socket
import socketserver
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from sandbox.container import Mount

SOCKET_DIR = "/run/dgm"
BRIDGE_PORT = 4000
BASE_URL = f"http://127.0.0.1:{BRIDGE_PORT}/v1"


def llm_mounts(socket_path: Path) -> list[Mount]:
    # Mount the directory, not the socket file: a gateway restarted after a crash makes a new
    # socket inode, which a file bind mount would not follow.
    # The container's unprivileged user must be able to reach and connect to the socket.
    os.chmod(socket_path.parent, 0o711)
    os.chmod(socket_path, 0o666)
    return [Mount(socket_path.parent, SOCKET_DIR, read_only=True)]


def llm_env(token: str, model: str = "openai/gateway") -> dict[str, str]:
    return {"DGM_MODEL": model, "OPENAI_BASE_URL": BASE_URL, "OPENAI_API_KEY": token}


def with_bridge(command: Sequence[str], socket_name: str) -> list[str]:
    """`command`, started once the bridge from container loopback to the gateway socket is up."""
    bridge = (
        f"socat TCP-LISTEN:{BRIDGE_PORT},bind=127.0.0.1,fork,reuseaddr "
        f"UNIX-CONNECT:{SOCKET_DIR}/{socket_name} & "
        # wait until socat listens, so the first model call cannot race it
        f"for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/{BRIDGE_PORT}) 2>/dev/null && break; sleep 0.1; done; "
        'exec "$@"'
    )
    return ["bash", "-c", bridge, "bridge", *command]


@dataclass(frozen=True)
class Bridge:
    """What one container needs to reach the gateway: its token env, the socket mount, and the
    wrapper that starts the bridge first. The empty Bridge is a container with no model."""

    env: dict[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    socket_name: str = ""
    gateway_address: str = ""  # host:port, for a machine that cannot see the gateway's socket

    def wrap(self, command: Sequence[str]) -> list[str]:
        return with_bridge(command, self.socket_name) if self.socket_name else list(command)

    def via(self, socket_path: Path) -> Bridge:
        """The same access through another socket (a relay's, on another machine)."""
        return replace(self, mounts=tuple(llm_mounts(socket_path)), socket_name=socket_path.name)


def bridge(socket_path: Path, token: str, gateway_address: str = "") -> Bridge:
    return Bridge(llm_env(token), tuple(llm_mounts(socket_path)), socket_path.name, gateway_address)


@contextmanager
def tcp_relay(socket_path: Path, address: str) -> Iterator[Path]:
    """A unix socket at `socket_path` whose every connection is piped to TCP `address` (host:port):
    how containers on a Ray node reach a gateway that runs on another machine."""
    host, _, port = address.rpartition(":")

    class Pipe(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with socket.create_connection((host, int(port)), timeout=30) as upstream:
                upstream.settimeout(None)
                back = threading.Thread(target=_copy, args=(upstream, self.request), daemon=True)
                back.start()
                _copy(self.request, upstream)
                back.join()

    server = UnixServer(str(socket_path), Pipe)
    os.chmod(socket_path, 0o666)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield socket_path
    finally:
        server.shutdown()
        server.server_close()
        socket_path.unlink(missing_ok=True)


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The gateway's socket and a relay's: a thread per connection, none outliving the process."""

    daemon_threads = True


def _copy(source: socket.socket, sink: socket.socket) -> None:
    """Bytes one way until the sender is done, then tell the receiver so (half-close)."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

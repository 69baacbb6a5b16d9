"""How a container with no network reaches the run's LLM gateway.

The gateway listens on a unix socket on the host; the socket's directory is bind-mounted into
the container, and `socat` inside turns it into an HTTP endpoint on the container's own
loopback. The container gets a per-task token as its "API key"; real keys stay on the host.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
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

    def wrap(self, command: Sequence[str]) -> list[str]:
        return with_bridge(command, self.socket_name) if self.socket_name else list(command)


def bridge(socket_path: Path, token: str) -> Bridge:
    return Bridge(llm_env(token), tuple(llm_mounts(socket_path)), socket_path.name)

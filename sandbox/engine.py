"""The one Docker client of a process, and the start-up sweep of containers a crash left behind."""

from __future__ import annotations

import functools
import os
import socket
from typing import TYPE_CHECKING

from dgm.errors import DgmError

if TYPE_CHECKING:
    import docker

# Every container dgm starts carries these labels; the owner label lets a later process tell
# a crashed owner's leftovers from containers another live dgm process is still using.
LABEL = "dgm"
RUN_LABEL = "dgm.run"
OWNER_LABEL = "dgm.owner"


class SandboxError(DgmError):
    """Docker is unreachable, an image is missing, or a container could not be run as asked."""


def _process_start_time(pid: int) -> str | None:
    """Start time of a process in clock ticks since boot: with the pid, it names one process even
    after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_id(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_process_start_time(pid)}"


def _owner_alive(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return True  # another machine's process: not ours to judge
    pid, _, started = rest.partition(":")
    return pid.isdigit() and _process_start_time(int(pid)) == started


def reap_orphans(client: docker.DockerClient) -> list[str]:
    """Remove dgm containers, then dgm volumes (a task's shared /testbed and /tmp), whose owning
    process on this host is gone. Returns their names. (Should this sweep not come, an orphan
    container still stops at its own deadline: see Sandbox.)"""
    import docker.errors
    import requests

    reaped = []
    for container in client.containers.list(all=True, filters={"label": LABEL}, ignore_removed=True):
        owner = container.labels.get(OWNER_LABEL, "")
        if not _owner_alive(owner):
            try:
                container.remove(force=True, v=True)
            except docker.errors.APIError as e:
                # processes starting together (Ray workers, a pool) sweep the same orphans at once
                if not (isinstance(e, docker.errors.NotFound) or e.status_code == 409):
                    raise
            except requests.exceptions.ReadTimeout:
                continue  # a daemon too loaded to answer: the next start sweeps it
            reaped.append(container.name)
    for volume in client.volumes.list(filters={"label": LABEL}):
        if not _owner_alive((volume.attrs.get("Labels") or {}).get(OWNER_LABEL, "")):
            try:
                volume.remove(force=True)
            except (docker.errors.APIError, requests.exceptions.ReadTimeout):
                continue  # in use, another process swept it first, or a daemon too loaded to answer
            reaped.append(volume.name)
    return reaped


@functools.cache
def docker_client() -> docker.DockerClient:
    """Connect once per process; the first connection also sweeps orphaned containers."""
    import docker
    import docker.errors

    try:
        # docker-py's HTTP pool defaults to 10 connections; a pool of workers each streaming
        # logs and waiting on a container needs more.
        client = docker.from_env(max_pool_size=64, timeout=120)
        client.ping()
    except docker.errors.DockerException as e:
        raise SandboxError(
            f"Docker Engine is not reachable ({e}). Start the daemon or set DOCKER_HOST."
        ) from e
    reap_orphans(client)
    return client

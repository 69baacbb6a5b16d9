"""The host side of the agent's shell: runs each command the agent asks for in the task's own
container, with the task's environment, and hands back its capped output.

Why a relay (and not dgm's runtime inside the task image): the agent is a Python 3.11 program
with its own packages; SWE-bench's instance images hold another Python (3.5-3.11) in a conda
env `testbed` and nothing of ours. So the agent runs in dgm's sandbox image and the task runs in
its own, both hardened alike (no network, read-only root, no capabilities, the unprivileged
`sandbox.container.UID`, limits, labels, removal). They share `/testbed` (one named volume,
filled from the task image) and `/tmp` (one size-capped tmpfs volume), so files the agent
writes are the files the task's commands see, and the agent's packages never mix with the
task's.

The host side runs no genome code: a request is one JSON line (a shell command string, its
working directory, extra environment, time limit and output size), the relay passes the string
to `docker exec` in the task container after the task's environment prologue (for SWE-bench,
eval.sh's own `source /opt/miniconda3/bin/activate; conda activate testbed`), and answers one
JSON line with the head and tail of the output. The socket's directory is bind-mounted into the
agent container (as the LLM bridge's is) and named to the agent by `DGM_EXEC_SOCKET`.
"""

from __future__ import annotations

import json
import os
import shlex
import socketserver
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sandbox.container import GID, UID, Mount
from sandbox.engine import SandboxError, docker_client
from sandbox.llm_bridge import UnixServer

SOCKET_DIR = "/run/dgm-exec"
SOCKET_NAME = "exec.sock"
SOCKET_ENV = "DGM_EXEC_SOCKET"  # tools/bash.py routes the agent's commands here when it is set
MAX_OUTPUT = 1_000_000  # bytes of head and of tail a request may ask for
MAX_REQUEST = 4_000_000
KILL_GRACE = 2  # seconds between TERM and KILL at a command's time limit
MAX_AT_ONCE = 8  # commands running at once: the agent is untrusted, host threads are not free


class RequestError(ValueError):
    pass


def parse_request(line: bytes, max_timeout: float) -> dict[str, Any]:
    """A request's fields, checked: the agent is untrusted, so nothing but these reaches docker."""
    try:
        request = json.loads(line)
    except ValueError as e:
        raise RequestError(f"request is not JSON: {e}") from e
    if not isinstance(request, dict):
        raise RequestError("request is not a JSON object")
    command, cwd, env = request.get("command"), request.get("cwd", "/"), request.get("env", {})
    if not isinstance(command, str) or not isinstance(cwd, str) or not cwd.startswith("/"):
        raise RequestError("request needs a string `command` and an absolute `cwd`")
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) and k.isidentifier()
                                            for k, v in env.items()):
        raise RequestError("`env` must map variable names to strings")
    try:
        timeout = min(max(float(request.get("timeout", 60)), 1.0), max_timeout)
        max_output = min(max(int(request.get("max_output", 10_000)), 0), MAX_OUTPUT)
    except (TypeError, ValueError) as e:
        raise RequestError(f"bad timeout or max_output: {e}") from e
    return {"command": command, "cwd": cwd, "env": env, "timeout": timeout, "max_output": max_output}


def exec_script(prologue: str, cwd: str, command: str) -> str:
    """What bash runs in the task container: the task's environment, then the command."""
    return f"{prologue}\ncd {shlex.quote(cwd)} || exit 1\n{command}"


class HeadTail:
    """Keeps the first and the last `cap` bytes of a stream and counts what lies between."""

    def __init__(self, cap: int) -> None:
        self.cap, self.head, self.tail, self.total = cap, bytearray(), bytearray(), 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data and self.cap:
            self.tail += data
            if len(self.tail) > 2 * self.cap:  # trimmed now and then, not per chunk: linear time
                del self.tail[:-self.cap]

    def last(self) -> bytes:
        return bytes(self.tail[-self.cap:]) if self.cap else b""

    @property
    def omitted(self) -> int:
        return self.total - len(self.head) - len(self.last())


def run_in_container(container: str, prologue: str, request: Mapping[str, Any],
                     base_env: Mapping[str, str]) -> dict[str, Any]:
    """One `docker exec` of the request's command, killed (with its process group) at its limit."""
    limit = request["timeout"]
    argv = ["timeout", "-k", str(KILL_GRACE), str(limit), "bash", "-c",
            exec_script(prologue, request["cwd"], request["command"])]
    api = docker_client().api
    started = time.monotonic()
    exec_id = api.exec_create(container, argv, user=f"{UID}:{GID}", workdir="/",
                              environment={**base_env, **request["env"]}, stdin=False, tty=False)["Id"]
    kept = HeadTail(request["max_output"])
    for chunk in api.exec_start(exec_id, stream=True, demux=False):
        kept.feed(chunk)
    elapsed = time.monotonic() - started
    code = api.exec_inspect(exec_id).get("ExitCode")
    # `timeout` exits 124 (TERM) or 137 (KILL) when it ended the command
    timed_out = code in (124, 137) and elapsed >= limit - 0.5
    return {"exit_code": None if timed_out else code, "timed_out": timed_out,
            "head": kept.head.decode("utf-8", errors="replace"), "tail": kept.last().decode("utf-8", errors="replace"),
            "omitted": kept.omitted}


def wait_running(name: str, patience: float = 30.0) -> None:
    """Until the task container's idle command runs."""
    api, deadline = docker_client().api, time.monotonic() + patience
    while not (state := api.inspect_container(name)["State"])["Running"]:
        if state["Status"] in ("exited", "dead"):
            raise SandboxError(f"the task container {name} stopped at once (exit {state['ExitCode']}): "
                               f"its image needs `sleep` from coreutils")
        if time.monotonic() > deadline:
            raise SandboxError(f"the task container {name} did not start within {patience:g} s")
        time.sleep(0.05)


@contextmanager
def exec_relay(container: str, socket_dir: Path, *, prologue: str, env: Mapping[str, str],
               max_timeout: float) -> Iterator[tuple[Mount, dict[str, str]]]:
    """A relay into the container named `container` on a socket in `socket_dir`; yields the
    agent container's mount and environment for it. Commands run as the sandbox uid under `env`
    (plus the request's), at most MAX_AT_ONCE of them at a time (each holds a host thread)."""

    ready = threading.Event()  # the container is made beside the agent's: the first command waits for it
    slots = threading.BoundedSemaphore(MAX_AT_ONCE)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            if not slots.acquire(blocking=False):
                self.wfile.write(json.dumps({"error": f"more than {MAX_AT_ONCE} commands at once"}).encode() + b"\n")
                return
            try:
                self.connection.settimeout(30)  # a request is one line, sent at once
                line = self.rfile.readline(MAX_REQUEST)
                self.connection.settimeout(None)
                if not ready.is_set():
                    wait_running(container)
                    ready.set()
                answer = run_in_container(container, prologue, parse_request(line, max_timeout), env)
            except RequestError as e:
                answer = {"error": str(e)}
            except Exception as e:  # the task container is gone (its limit, or the run is ending)
                answer = {"error": f"the task container could not run the command: {e}"}
            finally:
                slots.release()
            self.wfile.write(json.dumps(answer).encode() + b"\n")

    socket_dir.mkdir(parents=True, exist_ok=True)
    socket_path = socket_dir / SOCKET_NAME
    server = UnixServer(str(socket_path), Handler)
    # the container's unprivileged user must reach and connect to the socket
    os.chmod(socket_dir, 0o711)
    os.chmod(socket_path, 0o666)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield Mount(socket_dir, SOCKET_DIR, read_only=True), {SOCKET_ENV: f"{SOCKET_DIR}/{SOCKET_NAME}"}
    finally:
        server.shutdown()
        server.server_close()
        socket_path.unlink(missing_ok=True)

"""Run a shell command where the agent's task lives, with a time limit and capped output.

This is the one place the agent's shell commands run. When `DGM_EXEC_SOCKET` names a relay
socket, a command runs in the task's own container and environment (the harness's exec relay:
the task's Python and packages, never the agent's); otherwise it runs here, beside the agent.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RELAY_ENV = "DGM_EXEC_SOCKET"


@dataclass(frozen=True)
class BashResult:
    exit_code: int | None  # None when the time limit killed it
    output: str  # stdout and stderr interleaved
    timed_out: bool
    truncated: bool


def relayed() -> bool:
    """Whether commands run in the task's container rather than beside the agent."""
    return bool(os.environ.get(RELAY_ENV))


def python_command() -> str:
    """The Python a command should start to run the task's code: the task environment's own
    `python` when relayed, else the interpreter running the agent."""
    return "python" if relayed() else sys.executable


def cap_text(text: str, limit: int) -> tuple[str, bool]:
    """Keep the head and the tail (errors usually sit at the end), noting what was cut."""
    if len(text) <= limit:
        return text, False
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}", True


def run_bash(command: str, cwd: Path, timeout: float = 60.0, max_output: int = 10_000,
             env: Mapping[str, str] = {}) -> BashResult:
    """`command` under bash in `cwd`, with `env` added to the environment."""
    if relayed():
        return _run_relayed(command, cwd, timeout, max_output, env)
    # A new session makes the command a process group, so a timeout kills its children too.
    proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, stdout=subprocess.PIPE, env={**os.environ, **env},
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        raw, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raw, _ = proc.communicate()
        timed_out = True
    except BaseException:  # interrupted (the agent's deadline): the command must not outlive the call
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    output, truncated = cap_text(raw.decode(errors="replace"), max_output)
    return _result(None if timed_out else proc.returncode, output, truncated, timeout)


def run_argv(argv: Sequence[str], cwd: Path, timeout: float = 60.0, max_output: int = 10_000,
             env: Mapping[str, str] = {}) -> BashResult:
    """A program and its arguments, run as `run_bash` runs a command."""
    return run_bash(shlex.join(argv), cwd, timeout, max_output, env)


def _run_relayed(command: str, cwd: Path, timeout: float, max_output: int, env: Mapping[str, str]) -> BashResult:
    request = {"command": command, "cwd": str(cwd), "env": dict(env), "timeout": timeout,
               "max_output": max_output // 2 + 1}
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout + 30)  # the relay kills the command at `timeout`; this is its margin
        try:
            sock.connect(os.environ[RELAY_ENV])
            sock.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(sock.makefile("rb").readline())
        except (OSError, ValueError) as e:
            return BashResult(None, f"error: the task's shell is unreachable ({e})", False, False)
    if "error" in answer:
        return BashResult(None, f"error: {answer['error']}", False, False)
    output, truncated = answer["head"] + answer["tail"], answer["omitted"] > 0
    if truncated:
        output = f"{answer['head']}\n[... {answer['omitted']} bytes cut ...]\n{answer['tail']}"
    output, cut = cap_text(output, max_output)
    return _result(answer["exit_code"], output, truncated or cut, timeout)


def _result(code: int | None, output: str, truncated: bool, timeout: float) -> BashResult:
    if code is None:
        output += f"\n[killed after {timeout:g} s]"
    return BashResult(code, output, code is None, truncated)

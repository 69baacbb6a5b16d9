"""Run a shell command where the agent runs, with a time limit and capped output."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BashResult:
    exit_code: int | None  # None when the time limit killed it
    output: str  # stdout and stderr interleaved
    timed_out: bool
    truncated: bool


def _cap(text: str, limit: int) -> tuple[str, bool]:
    """Keep the head and the tail (errors usually sit at the end), noting what was cut."""
    if len(text) <= limit:
        return text, False
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}", True


def run_bash(command: str, cwd: Path, timeout: float = 60.0, max_output: int = 10_000) -> BashResult:
    # A new session makes the command a process group, so a timeout kills its children too.
    proc = subprocess.Popen(["bash", "-c", command], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        raw, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raw, _ = proc.communicate()
        timed_out = True
    output, truncated = _cap(raw.decode(errors="replace"), max_output)
    if timed_out:
        output += f"\n[killed after {timeout:g} s]"
    return BashResult(None if timed_out else proc.returncode, output, timed_out, truncated)

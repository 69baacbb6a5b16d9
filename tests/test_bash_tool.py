"""The agent's bash tool: a timeout kills the whole process tree; long output keeps head and tail."""

from __future__ import annotations

import signal
import time

import pytest

from tools.bash import run_bash


def test_exit_code_and_interleaved_output(tmp_path):
    result = run_bash("echo out; echo err >&2; exit 3", tmp_path)
    assert result.exit_code == 3 and not result.timed_out
    assert result.output.split() == ["out", "err"]


def test_a_timeout_kills_the_command_and_its_children(tmp_path):
    marker = tmp_path / "child-survived"
    started = time.monotonic()
    result = run_bash(f"(sleep 3; touch {marker}) & sleep 30", tmp_path, timeout=1)
    assert result.timed_out and result.exit_code is None
    assert time.monotonic() - started < 10
    assert "killed after 1 s" in result.output
    time.sleep(3.5)
    assert not marker.exists()


def test_a_command_interrupted_by_the_deadline_is_killed_with_its_children(tmp_path):
    # the agent's deadline arrives as an exception raised by SIGALRM while the command runs
    class Deadline(BaseException):
        pass

    def fire(signum, frame):
        raise Deadline

    marker = tmp_path / "child-survived"
    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, 1)
    try:
        with pytest.raises(Deadline):
            run_bash(f"(sleep 3; touch {marker}) & sleep 30", tmp_path, timeout=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    time.sleep(3.5)
    assert not marker.exists()


def test_long_output_keeps_head_and_tail(tmp_path):
    result = run_bash("seq 1 100000", tmp_path, max_output=1000)
    assert result.truncated
    assert result.output.startswith("1\n2\n") and result.output.rstrip().endswith("100000")
    assert "characters cut" in result.output and len(result.output) < 1200

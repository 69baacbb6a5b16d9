"""The agent's bash tool: a timeout kills the whole process tree; long output keeps head and tail."""

from __future__ import annotations

import time

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


def test_long_output_keeps_head_and_tail(tmp_path):
    result = run_bash("seq 1 100000", tmp_path, max_output=1000)
    assert result.truncated
    assert result.output.startswith("1\n2\n") and result.output.rstrip().endswith("100000")
    assert "characters cut" in result.output and len(result.output) < 1200

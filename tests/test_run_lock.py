"""One process drives a run: a second `dgm resume` on a live run is refused naming the owner's
pid and changes nothing; the lock of a killed process is taken over with nothing to clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archive.db import RunLock, RunLocked
from dgm.config import load_config
from dgm.engine import new_run
from dgm.run_cli import SEED_SOURCE
from tests.runs import dgm

HOLDER = """
import sys, threading
from pathlib import Path
from archive.db import RunLock
with RunLock(Path(sys.argv[1])):
    print("holding", flush=True)
    threading.Event().wait()
"""


@pytest.fixture
def run_dir(tmp_path) -> Path:
    path = tmp_path / "run"
    new_run(path, load_config(None, {"run.max_steps": 1}), SEED_SOURCE)
    return path


def _holder(run_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_second_resume_on_a_live_run_is_refused_naming_the_pid(run_dir):
    config = (run_dir / "config.toml").read_text()
    owner = _holder(run_dir)
    try:
        result = dgm("resume", str(run_dir), "--set", "run.max_steps=5")
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            f"error: {run_dir} is being driven by process {owner.pid}: stop it first, or wait for it to end"]
        assert (run_dir / "config.toml").read_text() == config  # the refused resume changed nothing
    finally:
        owner.kill()
        owner.wait()


def test_a_second_driver_in_the_same_process_is_refused_too(run_dir):
    with RunLock(run_dir):
        with pytest.raises(RunLocked, match=f"process {os.getpid()}"):
            with RunLock(run_dir):
                pass


def test_the_lock_of_a_killed_process_is_taken_over(run_dir):
    owner = _holder(run_dir)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert (run_dir / "run.lock").read_text().strip() == str(owner.pid)  # the stale pid is still written
    with RunLock(run_dir):
        assert (run_dir / "run.lock").read_text().strip() == str(os.getpid())


def test_a_run_starting_on_a_directory_another_run_is_making_is_refused_naming_the_pid(tmp_path):
    """`dgm run` locks the directory before writing to it: a second one started at the same moment
    (here, one that would fail on its suite) is refused and never removes the first one's files."""
    path = tmp_path / "run"
    path.mkdir()
    config = tmp_path / "c.toml"  # passes the config's checks; the suite fails to load in the engine
    (tmp_path / "not-a-suite").mkdir()
    config.write_text(f'[evaluation]\nsuite = "{tmp_path / "not-a-suite"}"\n')
    owner = _holder(path)  # the first `dgm run`, between its lock and its first file
    try:
        result = dgm("run", "--config", str(config), "--run-dir", str(path))
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            f"error: {path} is being driven by process {owner.pid}: stop it first, or wait for it to end"]
        assert [p.name for p in path.iterdir()] == ["run.lock"]
    finally:
        owner.kill()
        owner.wait()

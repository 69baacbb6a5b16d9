"""The container limits hold against hostile commands, and end reasons are reported correctly."""

from __future__ import annotations

import pytest

from sandbox.container import UID, Limits, Sandbox
from sandbox.engine import SandboxError

FORK_BOMB = r"""
import os, time
forks = 0
try:
    while forks < 100_000:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        forks += 1
except OSError as e:
    print("stopped after", forks, "forks:", e.strerror, flush=True)
"""


def test_fork_bomb_is_stopped_by_the_process_limit(sandbox_image):
    with Sandbox(sandbox_image, ["python3", "-c", FORK_BOMB], limits=Limits(pids=64, timeout=60)) as box:
        result = box.run()
    assert result.reason == "exit", result
    words = result.stdout.split()
    assert words[:2] == ["stopped", "after"], result.stdout
    assert int(words[2]) < 64


def test_memory_hog_ends_as_out_of_memory(sandbox_image):
    hog = "x = []\nwhile True: x.append(bytearray(10**7))"
    with Sandbox(sandbox_image, ["python3", "-c", hog], limits=Limits(memory="64m", timeout=60)) as box:
        result = box.run()
    assert result.reason == "oom"
    assert result.exit_code == 137


def test_sleep_is_killed_at_the_timeout(sandbox_image):
    with Sandbox(sandbox_image, ["sleep", "1000"], limits=Limits(timeout=2)) as box:
        result = box.run()
    assert result.reason == "timeout"
    assert result.exit_code is None
    assert 2 <= result.duration < 30


def test_container_has_only_the_loopback_interface(sandbox_image):
    probe = "import os; print(' '.join(sorted(os.listdir('/sys/class/net'))))"
    with Sandbox(sandbox_image, ["python3", "-c", probe]) as box:
        result = box.run()
    assert result.ok, result
    assert result.stdout.split() == ["lo"]


def test_container_runs_unprivileged_on_a_read_only_root(sandbox_image):
    script = "id -u; touch /etc/x 2>/dev/null && echo root-writable || echo root-read-only; touch /work/x && echo work-writable"
    with Sandbox(sandbox_image, ["bash", "-c", script]) as box:
        result = box.run()
    assert result.stdout.split() == [str(UID), "root-read-only", "work-writable"]


def test_output_beyond_the_cap_is_cut_with_a_note(sandbox_image):
    flood = "import sys; sys.stdout.write('a' * 100_000); sys.stderr.write('short')"
    with Sandbox(sandbox_image, ["python3", "-c", flood], limits=Limits(output_cap=1000)) as box:
        result = box.run()
    assert result.stdout_truncated and not result.stderr_truncated
    assert result.stdout.startswith("a" * 1000)
    assert "kept the first 1000 of 100000 bytes" in result.stdout
    assert result.stderr == "short"


def test_missing_image_is_a_clear_error():
    with pytest.raises(SandboxError, match="image 'dgm-no-such-image:0' not found.*dgm sandbox build"):
        Sandbox("dgm-no-such-image:0", ["true"])


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"memory": "lots"}, "memory='lots' is not a size"),
        ({"memory": "1m"}, "below Docker's minimum"),
        ({"cpus": 0}, "cpus=0 must be above 0"),
        ({"cpus": 4096}, "cpus=4096 must be above 0 and at most"),
        ({"pids": 0}, "pids=0 must be at least 1"),
        ({"timeout": -1}, "timeout=-1 must be a positive"),
    ],
)
def test_bad_limits_name_the_field_and_value(limits, message):
    with pytest.raises(SandboxError, match=message):
        Limits(**limits)


def test_a_command_runs_only_once(sandbox_image):
    with Sandbox(sandbox_image, ["true"]) as box:
        box.run()
        with pytest.raises(SandboxError, match="runs its command once"):
            box.run()

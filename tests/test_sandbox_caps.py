"""What a hostile command leaves behind stays bounded: disk, what is copied out and read back,
special files, the uid it runs as, its own deadline, and a daemon too slow to answer a kill."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import docker
import pytest

from sandbox.container import GID, SELF_DEADLINE_GRACE, UID, Limits, Sandbox
from sandbox.engine import SandboxError

SLOW_FILLER = """
import time
for i in range(40):  # 320 MB at most, paced so the test is about the watch, not the host disk
    with open(f'/work/fill{i}', 'wb') as f:
        f.write(b'x' * 8_000_000)
    time.sleep(0.05)
time.sleep(60)
"""


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))


def test_writing_past_the_disk_cap_ends_the_container_as_disk_full(sandbox_image):
    with Sandbox(sandbox_image, ["python3", "-c", SLOW_FILLER], limits=Limits(disk="64m", timeout=60)) as box:
        result = box.run()
    assert result.reason == "disk_full", result
    assert result.exit_code is None
    assert result.duration < 30
    assert "disk is full" in result.stderr


def test_one_file_larger_than_the_disk_cap_is_stopped_by_the_kernel(sandbox_image):
    script = "dd if=/dev/zero of=/work/big bs=1M count=64; echo dd exit $?; ls -l /work/big"
    with Sandbox(sandbox_image, ["bash", "-c", script], limits=Limits(disk="16m", timeout=60)) as box:
        result = box.run()
    assert "dd exit 153" in result.stdout, result  # 128 + SIGXFSZ
    assert f" {16 * 2**20} " in result.stdout


def test_a_full_tmp_ends_the_container_as_disk_full(sandbox_image):
    script = "dd if=/dev/zero of=/tmp/fill bs=1M count=64; sleep 60"
    with Sandbox(sandbox_image, ["bash", "-c", script], limits=Limits(tmp_size="16m", timeout=60)) as box:
        result = box.run()
    assert result.reason == "disk_full", result
    assert result.duration < 30


def test_a_shared_volume_counts_towards_the_disk_cap(sandbox_image):
    """SWE-bench's /testbed is a named volume the agent's and the task's containers share: files
    written there are held to the cap as /work's are (each file is under the cap; together not)."""
    client = docker.from_env()
    volume = client.volumes.create(f"dgm-test-shared-{os.getpid()}")
    try:
        client.containers.run(sandbox_image, ["chown", f"{UID}:{GID}", "/v"], user="0", remove=True,
                              volumes={volume.name: {"bind": "/v"}})
        script = "for i in $(seq 8); do head -c 40000000 /dev/zero > /testbed/f$i; done; sleep 60"
        with Sandbox(sandbox_image, ["bash", "-c", script], limits=Limits(disk="64m", timeout=60),
                     shared={"/testbed": volume.name}) as box:
            result = box.run()
    finally:
        from sandbox.container import wait_for_removals

        wait_for_removals()
        volume.remove(force=True)
    assert result.reason == "disk_full", result
    assert result.duration < 30
    assert "/work, /testbed" in result.stderr


HELD_OPEN = """
import os, time
held = []
for i in range(8):  # 320 MB, none of it visible to du
    f = open(f'/work/f{i}', 'wb')
    f.write(b'x' * 40_000_000)
    f.flush()
    os.unlink(f'/work/f{i}')
    held.append(f)
time.sleep(60)
"""


def test_files_deleted_but_held_open_count_towards_the_disk_cap(sandbox_image):
    with Sandbox(sandbox_image, ["python3", "-c", HELD_OPEN], limits=Limits(disk="64m", timeout=60)) as box:
        result = box.run()
    assert result.reason == "disk_full", result
    assert result.duration < 30


def test_a_huge_file_is_refused_by_read_without_being_loaded(sandbox_image):
    before = _peak_rss()
    with Sandbox(sandbox_image, ["bash", "-c", "truncate -s 1500M /work/report.json"]) as box:
        assert box.run().ok
        with pytest.raises(SandboxError, match=r"1572864000 bytes, over the .*-byte cap"):
            box.read("/work/report.json")
    assert _peak_rss() - before < 200 * 2**20


def test_copy_out_skips_links_fifos_and_devices_and_says_so(sandbox_image, tmp_path):
    script = textwrap.dedent("""\
        mkdir -p /work/out/sub && cd /work/out
        echo kept > sub/patch.diff
        ln -s /etc/passwd passwd-link
        ln -s ../../etc abs-dir-link
        mkfifo pipe
        echo twice > once && ln once twice
    """)
    with Sandbox(sandbox_image, ["bash", "-c", script]) as box:
        assert box.run().ok
        left_out = box.get_tree("/work/out", tmp_path)
    assert (tmp_path / "out/sub/patch.diff").read_text() == "kept\n"
    notes = "\n".join(left_out)
    assert "out/passwd-link: a symbolic link, not copied" in notes
    assert "out/abs-dir-link: a symbolic link, not copied" in notes
    assert "out/pipe: a FIFO, not copied" in notes
    assert "a hard link, not copied" in notes
    copied = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert copied in (["once", "sub"], ["sub", "twice"])  # the first name of a hard-linked file


def test_copy_out_of_a_directory_that_is_itself_a_link_copies_nothing(sandbox_image, tmp_path):
    with Sandbox(sandbox_image, ["bash", "-c", "ln -s /etc /work/out"]) as box:
        assert box.run().ok
        left_out = box.get_tree("/work/out", tmp_path)
    assert left_out == ["out: a symbolic link, not copied"]
    assert list(tmp_path.iterdir()) == []


def test_copy_out_stops_at_the_copy_cap_and_says_so(sandbox_image, tmp_path):
    script = "mkdir -p /work/out && head -c 500 /dev/zero > /work/out/small && head -c 5000 /dev/zero > /work/out/big"
    with Sandbox(sandbox_image, ["bash", "-c", script], limits=Limits(copy_cap=1000)) as box:
        assert box.run().ok
        left_out = box.get_tree("/work/out", tmp_path)
    assert (tmp_path / "out/small").stat().st_size == 500
    assert not (tmp_path / "out/big").exists()
    assert len(left_out) == 1 and left_out[0].startswith("out/big: 5000 bytes, past the copy-out cap of 1000 bytes")


def test_containers_run_as_a_uid_no_host_user_has(sandbox_image):
    with Sandbox(sandbox_image, ["bash", "-c", "id -u; id -g; stat -c %u /work"]) as box:
        result = box.run()
    assert result.stdout.split() == [str(UID), str(GID), str(UID)]
    with pytest.raises(KeyError):
        pwd.getpwuid(UID)


# The orphan's owner is labelled as a process of another machine, which no sweep on this one
# removes (other dgm processes start here all the time): only its own deadline can stop it.
ORPHAN = """
import sys, threading
import sandbox.container
from sandbox.container import Limits, Sandbox
sandbox.container.owner_id = lambda: "another-machine:1:1"
box = Sandbox(sys.argv[1], ["sleep", "1000"], limits=Limits(timeout=2), run_id="orphan-test")
print(box.name, flush=True)
threading.Thread(target=box.run, daemon=True).start()
threading.Event().wait()
"""


def test_an_orphaned_container_stops_at_its_own_deadline_with_no_dgm_process_alive(sandbox_image):
    owner = subprocess.Popen([sys.executable, "-c", ORPHAN, sandbox_image], stdout=subprocess.PIPE, text=True,
                             env=os.environ)
    name = owner.stdout.readline().strip()
    client = docker.from_env()
    try:
        container = client.containers.get(name)
        while container.status != "running":
            time.sleep(0.2)
            container.reload()
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        status = container.wait(timeout=2 + SELF_DEADLINE_GRACE + 30)
        assert status["StatusCode"] == 124  # timeout's own exit: the deadline was the container's
    finally:
        client.containers.get(name).remove(force=True, v=True)


def _silent_daemon(path: str) -> socket.socket:
    """A unix socket that accepts connections and never answers, like a daemon under heavy load."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen()
    held = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server


def test_a_kill_the_daemon_does_not_answer_is_a_sandbox_error(sandbox_image, tmp_path):
    server = _silent_daemon(str(tmp_path / "docker.sock"))
    slow = docker.DockerClient(base_url=f"unix://{tmp_path / 'docker.sock'}", timeout=1, version="1.41")
    with Sandbox(sandbox_image, ["sleep", "1"]) as box:
        real = box._container
        box._container = slow.containers.prepare_model({"Id": real.id})
        try:
            with pytest.raises(SandboxError, match="did not answer the kill in time"):
                box._kill()
        finally:
            box._container = real
    server.close()


def test_a_run_or_copy_the_daemon_does_not_answer_is_a_sandbox_error(sandbox_image, tmp_path):
    server = _silent_daemon(str(tmp_path / "docker.sock"))
    slow = docker.DockerClient(base_url=f"unix://{tmp_path / 'docker.sock'}", timeout=1, version="1.41")
    with Sandbox(sandbox_image, ["sleep", "1"]) as box:
        real = box._container
        box._container = slow.containers.prepare_model({"Id": real.id, "Name": real.name})
        try:
            with pytest.raises(SandboxError, match="copying files into container .*did not answer in time"):
                box.put("/work/in", {"a.txt": "a"})
            with pytest.raises(SandboxError, match="running container .*did not answer in time"):
                box.run()
        finally:
            box._container = real
    server.close()

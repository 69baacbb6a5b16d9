"""No container outlives its owner: Ctrl-C removes them, closed ones waiting for the background
remover are removed on exit and on SIGTERM too, and a killed owner's are reaped at start-up."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
import uuid

from sandbox.container import REMOVALS_PENDING, Sandbox, wait_for_removals
from sandbox.engine import RUN_LABEL, docker_client

OWNER = textwrap.dedent("""
    import signal, sys, threading
    # a process started in the background by a non-interactive shell ignores SIGINT: restore it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from sandbox.container import Limits, Sandbox
    from sandbox.pool import ContainerPool

    def job(i):
        with Sandbox(sys.argv[1], ["sleep", "1000"], run_id=sys.argv[2], limits=Limits(timeout=900)) as box:
            box.run()

    def announce():
        import time
        from sandbox.engine import docker_client
        mine = {"label": "dgm.run=" + sys.argv[2]}
        while len(docker_client().containers.list(filters=mine, ignore_removed=True)) < 2:
            time.sleep(0.2)
        print("running", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    for _ in ContainerPool(2).map_unordered(job, range(2)):
        pass
""")


def _containers(run_id: str) -> list:
    return docker_client().containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}, ignore_removed=True)


def _start_owner(image: str, run_id: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", OWNER, image, run_id], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "running"
    assert len(_containers(run_id)) == 2
    return proc


def test_ctrl_c_removes_every_container(sandbox_image):
    run_id = f"test-sigint-{uuid.uuid4().hex[:8]}"
    proc = _start_owner(sandbox_image, run_id)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert _containers(run_id) == []


def test_a_killed_owner_leaves_nothing_after_the_next_start_up(sandbox_image):
    run_id = f"test-sigkill-{uuid.uuid4().hex[:8]}"
    proc = _start_owner(sandbox_image, run_id)
    proc.kill()
    proc.wait(timeout=30)
    time.sleep(0.5)
    assert len(_containers(run_id)) == 2  # SIGKILL gave it no chance to clean up
    # The next processes that talk to Docker are the "next start-up"; two start at once (as Ray
    # workers or a resumed run and its pool do) and sweep the same orphans without tripping over
    # each other.
    sweeps = [subprocess.Popen([sys.executable, "-c", "from sandbox.engine import docker_client; docker_client()"],
                               stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for sweep in sweeps:
        assert sweep.wait(timeout=60) == 0, sweep.stderr.read()
    assert _containers(run_id) == []


# Closes more containers at once than the remover holds (so the last ones wait for room), then
# ends at once with some still waiting, as a grading process may: on exit, or on SIGTERM taken
# as Ctrl-C as dgm's CLI takes it.
CLOSER = textwrap.dedent("""
    import signal, sys
    from dgm.cli import _terminate
    from sandbox.container import REMOVALS_PENDING, Sandbox
    from sandbox.live import _live
    signal.signal(signal.SIGTERM, _terminate)
    boxes = [Sandbox(sys.argv[1], ["true"], run_id=sys.argv[2]) for _ in range(REMOVALS_PENDING + 2)]
    for box in boxes:
        box.close()
    print(len(_live), flush=True)
    if sys.argv[3] == "sigterm":
        signal.pause()
""")


def test_a_closed_container_is_removed_in_the_background(sandbox_image):
    run_id = f"test-bg-{uuid.uuid4().hex[:8]}"
    with Sandbox(sandbox_image, ["true"], run_id=run_id) as box:
        box.run()
    wait_for_removals()
    assert _containers(run_id) == []


def test_closed_containers_waiting_for_removal_go_on_exit_and_on_sigterm(sandbox_image):
    for end in ("exit", "sigterm"):
        run_id = f"test-bg-{end}-{uuid.uuid4().hex[:8]}"
        proc = subprocess.Popen([sys.executable, "-c", CLOSER, sandbox_image, run_id, end],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        # some still waiting, at most as many as the queue holds and the one being removed
        assert 0 < int(proc.stdout.readline()) <= REMOVALS_PENDING + 1
        if end == "sigterm":
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert _containers(run_id) == [], end

"""The pool runs N jobs at once, reports each job's result or error, and never more than N; each
worker's next container is started ahead, fresh, under the same limits, its own deadline counted
from its go, and removed with the pool or when its owner dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from datetime import datetime

import pytest

import sandbox.pool
from benchmarks.grader import grade
from benchmarks.pytest_runner import RUNNER_ENV
from benchmarks.pytest_waiter import COMMAND, go
from sandbox.container import Limits, Sandbox, wait_for_removals
from sandbox.engine import RUN_LABEL, docker_client
from sandbox.pool import ContainerPool, waiting_sandbox


def test_pool_runs_jobs_in_parallel_up_to_its_size(sandbox_image):
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def job(i: int) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        try:
            with Sandbox(sandbox_image, ["bash", "-c", f"sleep 1; echo {i}"]) as box:
                return box.run().stdout.strip()
        finally:
            with lock:
                state["now"] -= 1

    results = dict(ContainerPool(2).map_unordered(job, range(5)))
    assert results == {i: str(i) for i in range(5)}
    assert state["peak"] == 2


def test_a_failing_job_yields_its_exception_and_the_rest_finish():
    def job(i: int) -> int:
        if i == 1:
            raise RuntimeError("boom")
        return i * 10

    results = dict(ContainerPool(3).map_unordered(job, range(4)))
    assert isinstance(results.pop(1), RuntimeError)
    assert results == {0: 0, 2: 20, 3: 30}


def test_pool_size_must_be_positive():
    with pytest.raises(ValueError, match="at least one worker"):
        ContainerPool(0)


# --- spares: each worker's next container, started once its previous job is done --------------

def _run_containers(run_id: str) -> list:
    return docker_client().containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_id}"}, ignore_removed=True)


def test_gradings_in_a_worker_each_run_in_a_fresh_container_started_ahead_under_the_limits(
        pyfix, pyfix_image, inflection_task, tmp_path, monkeypatch):
    run_id, seen = f"spares-{uuid.uuid4().hex[:8]}", []

    class Seen(Sandbox):  # the real Sandbox, noting each container's state when its grading runs it
        def run(self, go: str = ""):
            self._container.reload()
            seen.append((self.name, self._container.status, self._container.attrs["HostConfig"]))
            return super().run(go)

    monkeypatch.setattr(sandbox.pool, "Sandbox", Seen)
    patches = [inflection_task.patch, "", inflection_task.patch]

    def job(i: int) -> bool:
        return grade(inflection_task, patches[i], pyfix, pyfix_image, log_dir=tmp_path / str(i), run_id=run_id).resolved

    assert sorted(ContainerPool(1).map_unordered(job, range(3))) == [(0, True), (1, False), (2, True)]
    names, states, configs = zip(*seen)
    assert len(set(names)) == 3  # a container per grading, never one that ran anything
    assert states == ("created", "running", "running")  # the first had no spare; the others were waiting
    limits = Limits()
    assert {(c["Memory"], c["PidsLimit"], c["NanoCpus"]) for c in configs} == {
        (limits.memory_bytes, limits.pids, int(limits.cpus * 1e9))}
    wait_for_removals()
    assert _run_containers(run_id) == []  # the fourth, the spare left when the pool ended, is gone too


def _waiting_job(image: str, run_id: str):
    def job(i: int) -> int | None:
        with waiting_sandbox(image, COMMAND, run_id=run_id, env=RUNNER_ENV) as box:
            return box.run(go(f"exit {10 + i}", {}, [])).exit_code
    return job


def test_a_pools_spares_are_removed_when_its_consumer_is_interrupted(pyfix_image):
    run_id = f"spares-{uuid.uuid4().hex[:8]}"
    with pytest.raises(KeyboardInterrupt):
        for item, code in ContainerPool(2).map_unordered(_waiting_job(pyfix_image, run_id), range(6)):
            assert code == 10 + item  # the go's shell ran, and its exit is the container's
            if item >= 2:
                raise KeyboardInterrupt
    wait_for_removals()
    assert _run_containers(run_id) == []


SPARE_OWNER = textwrap.dedent("""
    import sys, threading, time
    import sandbox.container
    from benchmarks.pytest_runner import RUNNER_ENV
    from benchmarks.pytest_waiter import COMMAND, go
    from sandbox.container import Limits, Sandbox
    sandbox.container.SELF_DEADLINE_GRACE = 0  # the container's own deadline is the owner's: 3 s
    sandbox.container.owner_id = lambda: "another-machine:1:1"  # no sweep here removes it
    box = Sandbox(sys.argv[1], COMMAND, waits_for_go=True, env=RUNNER_ENV, limits=Limits(timeout=3),
                  run_id=sys.argv[2])
    box.start_waiting()
    print(box.name, flush=True)
    if sys.argv[3] == "go":
        time.sleep(6)  # twice its deadline, waiting
        print(time.time(), flush=True)
        threading.Thread(target=box.run, args=(go("sleep 1000", {}, []),), daemon=True).start()
    threading.Event().wait()
""")


def _orphan(image: str, when: str) -> tuple[object, list[str]]:
    """A container started ahead by a process that is then killed (after the go, or before it)."""
    owner = subprocess.Popen([sys.executable, "-c", SPARE_OWNER, image, f"spares-{uuid.uuid4().hex[:8]}", when],
                             stdout=subprocess.PIPE, text=True)
    lines = [owner.stdout.readline().strip()]
    if when == "go":
        lines.append(owner.stdout.readline().strip())
        time.sleep(1)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    return docker_client().containers.get(lines[0]), lines


def test_a_spares_own_deadline_counts_from_its_go_not_from_its_start(pyfix_image):
    container, (_, go_at) = _orphan(pyfix_image, "go")
    try:
        assert container.wait(timeout=60)["StatusCode"] == 124  # its own deadline ended it
        container.reload()
        finished = datetime.fromisoformat(container.attrs["State"]["FinishedAt"][:26] + "+00:00").timestamp()
        assert 3 - 0.5 < finished - float(go_at) < 3 + 5 + 5  # 3 s after the go (6 s after its start)
    finally:
        container.remove(force=True, v=True)


def test_a_spare_whose_owner_dies_before_its_go_ends_itself(pyfix_image):
    container, _ = _orphan(pyfix_image, "never")
    try:
        assert container.wait(timeout=30)["StatusCode"] == 125  # its stdin closed with its owner's attach
    finally:
        container.remove(force=True, v=True)

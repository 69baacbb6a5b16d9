"""The pool runs N jobs at once, reports each job's result or error, and never more than N."""

from __future__ import annotations

import threading

import pytest

from sandbox.container import Sandbox
from sandbox.pool import ContainerPool


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

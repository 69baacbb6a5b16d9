"""The local executor on a stop: the running job ends with its container, queued jobs end at once,
and every future completes, so the loop waiting on them wakes."""

from __future__ import annotations

import time
from concurrent.futures import wait
from pathlib import Path

import pytest

from dgm.evaluation import Cancelled, EvalJob
from dgm.executors import LocalExecutor
from sandbox.container import Limits
from sandbox.engine import RUN_LABEL, docker_client

GENOME = Path(__file__).resolve().parent.parent


def test_a_cancelled_stop_completes_every_future_running_or_queued(pyfix, pyfix_image, tmp_path):
    task = next(t for t in pyfix.tasks() if t.repo == "cachetools" and t.split == "train")
    executor = LocalExecutor(1)
    futures = [executor.submit(EvalJob(f"v{i}", task, pyfix, pyfix_image, GENOME, tmp_path / str(i),
                                       Limits(timeout=300), env={"DGM_POLICY": "repair"}))
               for i in range(3)]
    deadline = time.monotonic() + 60
    while not docker_client().containers.list(filters={"label": f"{RUN_LABEL}=eval-v0"}, ignore_removed=True):
        assert time.monotonic() < deadline, "the first job never started its container"
        time.sleep(0.2)
    executor.close(cancel=True)
    _, not_done = wait(futures, timeout=60)
    assert not not_done, "a future was left pending: its waiter would hang"
    for queued in futures[1:]:
        with pytest.raises(Cancelled):
            queued.result()

"""Where evaluations run. The loop only submits jobs and waits on futures, so a run on one
machine and a run on a Ray cluster differ in the executor alone."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from dgm.config import ExecutorConfig
from dgm.evaluation import EvalJob, EvalResult, evaluate
from sandbox.live import remove_all


class Executor(Protocol):
    def submit(self, job: EvalJob) -> Future[EvalResult]: ...

    def close(self, cancel: bool) -> None:
        """Stop taking work; with `cancel`, end running jobs now (their results are not wanted)."""


class LocalExecutor:
    """A pool of threads on this machine, each driving one task's containers at a time."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="eval")
        self._cancelled = threading.Event()

    def submit(self, job: EvalJob) -> Future[EvalResult]:
        return self._pool.submit(evaluate, job, self._cancelled)

    def close(self, cancel: bool) -> None:
        if cancel:
            # flag, then remove containers: a job whose agent container goes away starts no
            # grading, and a queued job raises Cancelled as it starts, before any container.
            # (The pool's cancel_futures would leave queued futures cancelled without notifying
            # their waiters, so a loop waiting on them would never wake.)
            self._cancelled.set()
            self._pool.shutdown(wait=False)
            remove_all()
        else:
            self._pool.shutdown(wait=True)


def make_executor(config: ExecutorConfig, workers: int) -> Executor:
    if config.kind == "ray":
        from dgm.ray_executor import RayExecutor

        return RayExecutor(config.address, workers)
    return LocalExecutor(workers)

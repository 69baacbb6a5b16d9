"""Run many sandboxed jobs at once on a fixed number of worker threads."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from sandbox.live import remove_all

T = TypeVar("T")
R = TypeVar("R")


class ContainerPool:
    """At most `workers` jobs in flight; each job typically runs one or more Sandboxes.

    On Ctrl-C the pending jobs are cancelled and every live container is removed at once, so
    the running jobs end quickly instead of waiting out their time limits.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, not {workers}")
        self.workers = workers

    def map_unordered(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[T, R | BaseException]]:
        """Yield (item, result) as jobs finish; a job that raised yields its exception instead."""
        pending = iter(items)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox") as executor:
            running: dict[Future, T] = {}
            try:
                for item in pending:
                    running[executor.submit(fn, item)] = item
                    if len(running) >= self.workers:
                        break
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        item = running.pop(future)
                        error = future.exception()
                        yield item, (error if error is not None else future.result())
                        for nxt in pending:
                            running[executor.submit(fn, nxt)] = nxt
                            break
            except BaseException:
                for future in running:
                    future.cancel()
                remove_all()
                raise

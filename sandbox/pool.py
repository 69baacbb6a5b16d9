"""Run many sandboxed jobs at once on a fixed number of worker threads, each worker keeping its
next container created and started once its previous job is done."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

from sandbox.container import Sandbox
from sandbox.live import remove_all

T = TypeVar("T")
R = TypeVar("R")

_worker = threading.local()  # .standby: the Standby of the thread's pool worker (or `standby` scope)


class Standby:
    """One worker's spare: a fresh container for its next job, created and started (its command
    waiting for its go, see Sandbox's `waits_for_go`) once its job is done, so that it is ready
    while the worker does the rest of its next job (an agent's run, before the grading). Not
    while the current grading runs: on a loaded machine the two containers would share Docker's
    one CPU weight. A spare is handed out once, to a job asking for the same image, command and
    settings; any other is removed. Never reused: every container it hands out is new and has
    run nothing."""

    def __init__(self) -> None:
        self._next: tuple[tuple, Future[Sandbox]] | None = None
        self._last: tuple[str, tuple[str, ...], dict[str, Any]] | None = None  # what was last taken

    def take(self, image: str, command: Sequence[str], settings: dict[str, Any]) -> Sandbox:
        self._last = (image, tuple(command), settings)
        box = self._claim(_key(*self._last))
        if box is None:  # the first job, or another kind of job: made now, started at its run
            box = Sandbox(image, command, waits_for_go=True, **settings)
        return box

    def refill(self) -> None:
        """Start a spare like the container last taken, unless one is there or none was taken."""
        if self._last is not None and self._next is None:
            self._next = (_key(*self._last), _prepare(*self._last))

    def wait(self) -> None:
        """Return once the spare is ready (or failed): for a benchmark that measures a quiet machine."""
        if self._next is not None:
            wait([self._next[1]])

    def close(self) -> None:
        """Remove the spare."""
        spare = self._claim(None)
        if spare is not None:
            spare.close()

    def _claim(self, key: tuple | None) -> Sandbox | None:
        """The spare if made for `key`; otherwise None, the spare removed."""
        if self._next is None:
            return None
        (made_for, future), self._next = self._next, None
        try:
            spare = future.result()
        except Exception:  # its creation failed: a new container now says why, if it fails again
            return None
        if made_for == key:
            return spare
        spare.close()
        return None


def _key(image: str, command: Sequence[str], settings: dict[str, Any]) -> tuple:
    return image, tuple(command), repr(sorted(settings.items()))


def _prepare(image: str, command: Sequence[str], settings: dict[str, Any]) -> Future[Sandbox]:
    """A container created and started on a thread of its own."""
    future: Future[Sandbox] = Future()

    def make() -> None:
        try:
            box = Sandbox(image, command, waits_for_go=True, **settings)
        except BaseException as e:
            future.set_exception(e)
            return
        try:
            box.start_waiting()
        except BaseException as e:
            box.close()
            future.set_exception(e)
            return
        future.set_result(box)

    threading.Thread(target=make, name="sandbox-spare", daemon=True).start()
    return future


def waiting_sandbox(image: str, command: Sequence[str], **settings: Any) -> Sandbox:
    """A fresh Sandbox(image, command, waits_for_go=True, **settings): in a ContainerPool's worker
    (or a `standby` scope) the one its worker started when its previous job was done."""
    standby: Standby | None = getattr(_worker, "standby", None)
    if standby is None:
        return Sandbox(image, command, waits_for_go=True, **settings)
    return standby.take(image, command, settings)


@contextmanager
def standby() -> Iterator[Standby]:
    """This thread keeps a spare, as each worker of a ContainerPool does (`refill` it after each
    job); it is removed on the way out."""
    spare = _worker.standby = Standby()
    try:
        yield spare
    finally:
        del _worker.standby
        spare.close()


class ContainerPool:
    """At most `workers` jobs in flight; each job typically runs one or more Sandboxes. Each
    worker refills its spare (`waiting_sandbox`) after each job; spares are removed when
    `map_unordered` ends, however it ends.

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
        spares: list[Standby] = []
        lock, stopping = threading.Lock(), threading.Event()

        def start_worker() -> None:
            with lock:
                spares.append(Standby())
                _worker.standby = spares[-1]

        def job(item: T) -> R:
            try:
                return fn(item)
            finally:
                if not stopping.is_set():  # (the last job of each worker leaves one unused)
                    _worker.standby.refill()

        try:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox", initializer=start_worker) as executor:
                running: dict[Future, T] = {}
                try:
                    for item in pending:
                        running[executor.submit(job, item)] = item
                        if len(running) >= self.workers:
                            break
                    while running:
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                        for future in done:
                            item = running.pop(future)
                            error = future.exception()
                            yield item, (error if error is not None else future.result())
                            for nxt in pending:
                                running[executor.submit(job, nxt)] = nxt
                                break
                except BaseException:
                    stopping.set()
                    for future in running:
                        future.cancel()
                    remove_all()
                    raise
        finally:
            for spare in spares:
                spare.close()

"""Whether the provider is failing: calls that fail after every retry, counted.

A task whose call failed this way has no result worth recording (the engine runs it again), and
`pause_after` such calls in a row mean the provider is down: the gateway refuses calls at once
instead of waiting out the retries of each, and the engine pauses the run (resumable) with the
reason rather than recording a night of failures.
"""

from __future__ import annotations

import threading
from collections import Counter

REQUEUES = 3  # runs of one evaluation lost to the provider before the engine pauses instead


class ProviderHealth:
    def __init__(self, pause_after: int) -> None:
        self.pause_after = pause_after
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._last = ""
        self._failed: set[tuple[str, str]] = set()
        self._requeued: Counter[tuple[str, str]] = Counter()

    def succeeded(self) -> None:
        with self._lock:
            self._in_a_row = 0

    def failed(self, caller: tuple[str, str], reason: str) -> None:
        with self._lock:
            self._in_a_row += 1
            self._last = reason
        self.lost(caller)

    def lost(self, caller: tuple[str, str]) -> None:
        """The caller's work is not a result: a call of it was refused because the provider is down."""
        with self._lock:
            self._failed.add(caller)

    def down(self) -> str:
        """Why the provider counts as down, or "" while it works."""
        with self._lock:
            if self._in_a_row < self.pause_after:
                return ""
            return f"the provider failed {self._in_a_row} calls in a row after retries (last: {self._last[:300]})"

    def failed_for(self, variant_id: str, task_id: str) -> bool:
        """A call of this caller failed after retries (its work is not a result)."""
        with self._lock:
            return (variant_id, task_id) in self._failed

    def requeue(self, variant_id: str, task_id: str) -> bool:
        """Whether the caller's lost work may run again now: forgets the failure, counts the rerun."""
        with self._lock:
            self._failed.discard((variant_id, task_id))
            self._requeued[(variant_id, task_id)] += 1
            return self._requeued[(variant_id, task_id)] <= REQUEUES

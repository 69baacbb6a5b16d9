"""The provider's rate limits, shared by every caller of the run: at most `max_concurrent` calls
at the provider at once and, when set, at most `tokens_per_minute` tokens sent in any minute."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

WINDOW = 60.0


class Throttle:
    def __init__(self, max_concurrent: int, tokens_per_minute: int = 0) -> None:
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self.tokens_per_minute = tokens_per_minute
        self._sent: deque[list[float]] = deque()  # [time, tokens] of calls started in the window
        self._cond = threading.Condition()

    @contextmanager
    def slot(self, tokens: int) -> Iterator[list[float]]:
        """Hold a call slot and `tokens` of the minute's allowance; the yielded entry's [1] may be
        set to the tokens the call really used once it returns."""
        entry = self._take_tokens(tokens)
        with self._slots:
            yield entry

    def _take_tokens(self, tokens: int) -> list[float]:
        entry = [time.monotonic(), float(tokens)]
        if not self.tokens_per_minute:
            return entry
        with self._cond:
            while True:
                now = time.monotonic()
                while self._sent and self._sent[0][0] <= now - WINDOW:
                    self._sent.popleft()
                used = sum(e[1] for e in self._sent)
                if not self._sent or used + tokens <= self.tokens_per_minute:  # one oversized call may go alone
                    entry[0] = now
                    self._sent.append(entry)
                    return entry
                self._cond.wait(timeout=self._sent[0][0] + WINDOW - now)

"""What the agent may still spend: steps, the task's dollars (as the gateway reports them) and
wall-clock time. The loop asks `exhausted()` before each step and shows `status()` to the model
after each one."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field

# No step starts this close to the deadline (seconds, at most a tenth of the time limit): it could
# not finish in time. A step already running when the deadline comes is interrupted.
DEADLINE_MARGIN = 30.0


class DeadlineReached(BaseException):
    """The wall-clock deadline passed while a step was running. A BaseException, like
    KeyboardInterrupt, so that no library's `except Exception` turns it into another error."""


@dataclass
class Budget:
    max_steps: int = 150
    time_limit: float | None = None  # seconds from `started`
    started: float = field(default_factory=time.monotonic)  # time.monotonic() when the clock started
    step: int = 0
    spent: float | None = None  # dollars, from the gateway
    cap: float | None = None

    def record(self, spent: float | None, cap: float | None) -> None:
        self.step += 1
        self.spent = spent if spent is not None else self.spent
        self.cap = cap if cap is not None else self.cap

    def time_left(self) -> float | None:
        return None if self.time_limit is None else self.time_limit - (time.monotonic() - self.started)

    def exhausted(self) -> str | None:
        """The exit reason when no further step may start, else None."""
        if self.step >= self.max_steps:
            return "step_limit"
        if self.cap is not None and self.spent is not None and self.spent >= self.cap:
            return "cost_limit"
        left = self.time_left()
        if left is not None and left < min(DEADLINE_MARGIN, self.time_limit / 10):
            return "deadline"
        return None

    def status(self) -> str:
        """One line for the model: steps, dollars and time left."""
        parts = [f"step {self.step} of {self.max_steps}"]
        if self.cap is not None:
            parts.append(f"${max(0.0, self.cap - (self.spent or 0.0)):.2f} of ${self.cap:.2f} left")
        elif self.spent is not None:
            parts.append(f"${self.spent:.2f} spent")
        left = self.time_left()
        if left is not None:
            parts.append(f"{max(0.0, left) / 60:.0f} min left")
        return "[" + ", ".join(parts) + "]"


def arm_deadline(budget: Budget | None) -> None:
    """Raise DeadlineReached in the main thread when the budget's time is up, wherever it is (a
    model call, a shell command), so the caller can still write the patch. None disarms it."""
    left = None if budget is None else budget.time_left()
    if left is None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    limit = budget.time_limit

    def fire(signum: int, frame: object) -> None:
        raise DeadlineReached(f"the time limit of {limit:g} s was reached")

    signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))

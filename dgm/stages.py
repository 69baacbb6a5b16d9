"""Staged evaluation plans: which tasks each stage holds and whether a score goes on.

Every variant of a run is scored on the same tasks in the same order (a fixed shuffle by the
run's seed), so scores at a stage are comparable across the archive, as in DGM.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class StagePlan:
    stages: tuple[tuple[str, ...], ...]  # each stage's tasks; a stage includes the ones before it
    thresholds: tuple[float, ...]  # score needed on stage k to enter stage k + 1
    full: tuple[str, ...]  # every training task, for the best variant
    heldout: tuple[str, ...]  # never diagnosed; scored only for variants that reach the end

    def tasks_for(self, stage: int) -> tuple[str, ...]:
        """Stage indices run 0..len(stages)-1, then len(stages) is the full suite."""
        return self.full if stage >= len(self.stages) else self.stages[stage]

    def goes_on(self, stage: int, score: float) -> bool:
        return stage < len(self.thresholds) and score > self.thresholds[stage]


def plan_stages(train: Sequence[str], heldout: Sequence[str], sizes: Sequence[int],
                thresholds: Sequence[float], seed: int, heldout_size: int = 0) -> StagePlan:
    """`heldout_size` > 0 scores last-stage variants on that many held-out tasks (a fixed,
    seeded choice), not the whole split."""
    order = sorted(train)
    random.Random(seed).shuffle(order)
    stages = tuple(tuple(order[: min(size, len(order))]) for size in sizes)
    held = sorted(heldout)
    random.Random(seed).shuffle(held)
    held = held[:heldout_size] if heldout_size > 0 else held
    return StagePlan(stages, tuple(thresholds), tuple(order), tuple(sorted(held)))


def score(results: dict[str, bool], tasks: Sequence[str]) -> float:
    """Fraction of `tasks` resolved; a task without a result counts as unresolved."""
    return sum(results.get(t, False) for t in tasks) / len(tasks) if tasks else 0.0

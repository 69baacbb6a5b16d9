"""Staged evaluation plans: which tasks each stage holds and whether a variant goes on.

Every variant of a run is scored on the same tasks in the same order, so scores at a stage are
comparable across the archive, as in DGM: either a fixed shuffle by the run's seed cut at the
configured sizes, or fixed stage lists named by task id (DGM's published small and medium subsets
can be used as they are).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dgm.errors import DgmError


class StageError(DgmError):
    """A stage list cannot be read or names a task the suite does not have."""


@dataclass(frozen=True)
class StagePlan:
    stages: tuple[tuple[str, ...], ...]  # each stage's tasks; a stage includes the ones before it
    thresholds: tuple[float, ...]  # fraction of stage k's tasks to resolve to enter stage k + 1
    full: tuple[str, ...]  # every training task, for the best variant
    heldout: tuple[str, ...]  # never diagnosed; scored only for variants that reach the end

    def tasks_for(self, stage: int) -> tuple[str, ...]:
        """Stage indices run 0..len(stages)-1, then len(stages) is the full suite."""
        return self.full if stage >= len(self.stages) else self.stages[stage]

    def goes_on(self, stage: int, score: float) -> bool:
        """DGM's gate: resolved ≥ threshold × n on the stage's n tasks (score = resolved / n)."""
        return stage < len(self.thresholds) and score >= self.thresholds[stage]


def read_stage_lists(entries: Sequence[Sequence[str] | str]) -> list[list[str]]:
    """Each entry a list of task ids, or the path of a JSON file holding one (DGM's
    `subsets/small.json` format)."""
    lists = []
    for entry in entries:
        if isinstance(entry, str):
            try:
                ids = json.loads(Path(entry).read_text())
            except (OSError, ValueError) as e:
                raise StageError(f"evaluation.stage_lists: cannot read {entry} as a JSON list of task ids ({e})") from e
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise StageError(f"evaluation.stage_lists: {entry} must hold a JSON list of task id strings")
            lists.append(ids)
        else:
            lists.append(list(entry))
    return lists


def _resolve(ids: Sequence[str], known: set[str]) -> list[str]:
    """Task ids as the suite names them; DGM's polyglot ids (`rust__bowling`) are dgm's
    `polyglot__rust__bowling`."""
    resolved = []
    for task_id in ids:
        name = task_id if task_id in known else f"polyglot__{task_id}"
        if name not in known:
            raise StageError(f"evaluation.stage_lists names task {task_id!r}, which the suite does not have")
        resolved.append(name)
    return resolved


def plan_stages(train: Sequence[str], heldout: Sequence[str], sizes: Sequence[int],
                thresholds: Sequence[float], seed: int, heldout_size: int = 0,
                lists: Sequence[Sequence[str]] = ()) -> StagePlan:
    """`heldout_size` > 0 scores last-stage variants on that many held-out tasks (a fixed,
    seeded choice), not the whole split. `lists`, when given, are the stages (each adding its
    tasks to the ones before it) in place of `sizes`; a task they name is a training task."""
    known = {*train, *heldout}
    resolved = [_resolve(ids, known) for ids in lists]
    named = list(dict.fromkeys(t for ids in resolved for t in ids))
    order = sorted(train)
    random.Random(seed).shuffle(order)
    if resolved:
        order = named + [t for t in order if t not in named]
        stages, so_far = [], []
        for ids in resolved:
            so_far += [t for t in ids if t not in so_far]
            stages.append(tuple(so_far))
    else:
        stages = [tuple(order[: min(size, len(order))]) for size in sizes]
    held = sorted(t for t in heldout if t not in named)
    random.Random(seed).shuffle(held)
    held = held[:heldout_size] if heldout_size > 0 else held
    return StagePlan(tuple(stages), tuple(thresholds), tuple(order), tuple(sorted(held)))


def score(results: dict[str, bool], tasks: Sequence[str]) -> float:
    """Fraction of `tasks` resolved; a task without a result counts as unresolved."""
    return sum(results.get(t, False) for t in tasks) / len(tasks) if tasks else 0.0

"""What the tree, the report and `show` display of a run: plain records, derived, never stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class VariantView:
    id: str
    parent_id: str | None
    step: int
    status: str  # admitted | failed | running | pending
    score: float | None  # on the largest stage completed
    stage: int  # stages completed (0: none)
    summary: str = ""  # what its diagnosis was about
    fail_reason: str = ""
    diagnosis: str = ""
    diff: str = ""
    results: dict[str, bool] = field(default_factory=dict)
    cost: float = 0.0
    heldout_score: float | None = None
    novelty: float | None = None
    diagnosis_task: str = ""
    created: float = 0.0  # unix time the variant was planned
    updated: float = 0.0  # unix time of its last state change


def best_variant(variants: Sequence[VariantView]) -> VariantView | None:
    """Highest score on the largest stage it completed. Ties (common: small stages saturate) go
    to the better held-out score, then to the earlier variant."""
    scored = [v for v in variants if v.status == "admitted" and v.score is not None]
    if not scored:
        return None
    return max(scored, key=lambda v: (v.stage, v.score, -1.0 if v.heldout_score is None else v.heldout_score,
                                      -v.step))


def path_to(variants: Sequence[VariantView], target: str | None) -> list[str]:
    """Ids from the root down to `target`."""
    parents = {v.id: v.parent_id for v in variants}
    path = []
    while target is not None:
        path.append(target)
        target = parents.get(target)
    return path[::-1]


@dataclass(frozen=True)
class StepPoint:
    step: int
    best: float
    mean: float
    cost: float  # cumulative


def progress_by_step(variants: Sequence[VariantView]) -> list[StepPoint]:
    """Best and archive-mean score and cumulative cost after each step."""
    points, cost, scores = [], 0.0, []
    for step in sorted({v.step for v in variants}):
        for v in variants:
            if v.step == step:
                cost += v.cost
                if v.status == "admitted" and v.score is not None:
                    scores.append(v.score)
        points.append(StepPoint(step, max(scores, default=0.0),
                                sum(scores) / len(scores) if scores else 0.0, cost))
    return points

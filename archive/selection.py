"""Parent selection: which admitted variants the next step builds on. Every rule is one class
behind one small interface, registered by name, and draws only from the `random.Random` it is
given, so a run's choices are reproducible from its seed."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dgm.errors import DgmError


@dataclass(frozen=True)
class Candidate:
    id: str
    score: float
    children: int
    clade_successes: int = 0  # resolved tasks over the variant's whole subtree
    clade_failures: int = 0


class ParentSelector(Protocol):
    def select(self, candidates: Sequence[Candidate], k: int, rng: random.Random) -> list[str]: ...


def _weighted(candidates: Sequence[Candidate], weights: Sequence[float], k: int, rng: random.Random) -> list[str]:
    if sum(weights) <= 0:
        weights = [1.0] * len(candidates)
    return [c.id for c in rng.choices(list(candidates), weights=list(weights), k=k)]


class DGMRule:
    """sigmoid(λ·(score − a0)) · 1/(1 + children), sampled in proportion (the DGM paper)."""

    def __init__(self, steepness: float = 10.0, midpoint: float = 0.5) -> None:
        self.steepness, self.midpoint = steepness, midpoint

    def weight(self, c: Candidate) -> float:
        return 1 / (1 + math.exp(-self.steepness * (c.score - self.midpoint))) / (1 + c.children)

    def select(self, candidates: Sequence[Candidate], k: int, rng: random.Random) -> list[str]:
        return _weighted(candidates, [self.weight(c) for c in candidates], k, rng)


class Greedy:
    """The best score, ties broken by fewer children."""

    def select(self, candidates: Sequence[Candidate], k: int, rng: random.Random) -> list[str]:
        best = max(candidates, key=lambda c: (c.score, -c.children))
        return [best.id] * k


class Uniform:
    def select(self, candidates: Sequence[Candidate], k: int, rng: random.Random) -> list[str]:
        return _weighted(candidates, [1.0] * len(candidates), k, rng)


class ScoreProportional:
    def select(self, candidates: Sequence[Candidate], k: int, rng: random.Random) -> list[str]:
        return _weighted(candidates, [c.score for c in candidates], k, rng)


class CladeThompson:
    """Thompson sampling over clades, as in the Huxley-Gödel Machine: a variant is judged by
    how productive its whole subtree has been, Beta(1 + successes, 1 + failures)."""

    def select(self, candidates: Sequence[Candidate], k: int, rng: random.Random) -> list[str]:
        chosen = []
        for _ in range(k):
            draws = [(rng.betavariate(1 + c.clade_successes, 1 + c.clade_failures), c.id) for c in candidates]
            chosen.append(max(draws)[1])
        return chosen


RULES: dict[str, type] = {"dgm": DGMRule, "greedy": Greedy, "uniform": Uniform,
                          "score_prop": ScoreProportional, "hgm": CladeThompson}


def select_parents(rule: str, candidates: Sequence[Candidate], k: int, rng: random.Random) -> list[str]:
    if rule not in RULES:
        raise DgmError(f"unknown selection rule {rule!r}; known: {', '.join(RULES)}")
    if not candidates:
        raise DgmError("no admitted variant to select a parent from")
    return RULES[rule]().select(candidates, k, rng)

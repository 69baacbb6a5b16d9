"""Novelty: how a child differs from what the archive already holds, in behaviour (which tasks
it resolves, FunSearch-style) and in code (the lines its diff changes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rapidfuzz import fuzz


def changed_lines(diff: str) -> str:
    return "\n".join(line[1:].strip() for line in diff.splitlines()
                     if line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:].strip())


def code_similarity(a: str, b: str) -> float:
    """0..1 similarity of two diffs' changed lines."""
    return fuzz.ratio(changed_lines(a), changed_lines(b)) / 100


def is_near_duplicate(diff: str, others: Sequence[str], threshold: float) -> bool:
    return any(code_similarity(diff, other) >= threshold for other in others)


def behaviour_distance(a: Mapping[str, bool], b: Mapping[str, bool]) -> float:
    """Fraction of the tasks both were scored on where exactly one of them succeeded."""
    shared = set(a) & set(b)
    return sum(a[t] != b[t] for t in shared) / len(shared) if shared else 1.0


def novelty(diff: str, results: Mapping[str, bool], archive: Sequence[tuple[str, Mapping[str, bool]]], k: int = 3) -> float:
    """Mean distance to the k nearest archive members, averaging behaviour and code distance."""
    if not archive:
        return 1.0
    distances = sorted((behaviour_distance(results, r) + 1 - code_similarity(diff, d)) / 2 for d, r in archive)
    nearest = distances[:k]
    return sum(nearest) / len(nearest)

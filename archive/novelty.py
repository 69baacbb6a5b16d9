"""Novelty: how a child differs from what the archive already holds, in behaviour (which tasks
it resolves, FunSearch-style) and in code (the lines its diff changes)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from rapidfuzz import fuzz

# A child's diff longer than this fails before anything compares it (see dgm.engine).
MAX_DIFF_CHARS = 1_000_000
# Character-level comparison costs the product of the two lengths: past this many characters of
# changed lines, diffs are compared as multisets of lines (the share of lines they have in
# common), which costs their length (two 1.6 MB diffs: tens of milliseconds rather than 88 s).
CHARACTER_LEVEL_LIMIT = 10_000


def changed_lines(diff: str) -> list[str]:
    return [line[1:].strip() for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---")) and line[1:].strip()]


def code_similarity(a: str, b: str) -> float:
    """0..1 similarity of two diffs' changed lines."""
    lines_a, lines_b = changed_lines(a), changed_lines(b)
    text_a, text_b = "\n".join(lines_a), "\n".join(lines_b)
    if max(len(text_a), len(text_b)) <= CHARACTER_LEVEL_LIMIT:
        return fuzz.ratio(text_a, text_b) / 100
    shared = sum((Counter(lines_a) & Counter(lines_b)).values())
    return 2 * shared / (len(lines_a) + len(lines_b))


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

"""Which tasks of a suite are held out (`evaluation.heldout`): never diagnosed, scored only for
variants that reach the last stage. Three forms:

    "split:NAME"     tasks of that split (default "split:heldout"; SWE-bench task repos name
                     their published splits in sweb.yaml, e.g. "split:test")
    "ids:A,B,C"      exactly these instance ids
    "fraction:0.2"   a stable fifth of the tasks: those whose sha256(instance_id) falls in the
                     lowest 20 % of the range, the same on every machine and run, and unchanged
                     for a task when others are added
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from benchmarks.suite import SuiteError
from benchmarks.tasks import Task

DEFAULT = "split:heldout"


def parse_heldout(spec: str) -> tuple[str, str]:
    """(form, value) of a spec, or an error naming the forms."""
    form, sep, value = spec.partition(":")
    if not sep or form not in ("split", "ids", "fraction") or not value.strip():
        raise SuiteError(f"evaluation.heldout = {spec!r}: use split:NAME, ids:ID1,ID2 or fraction:F (0 < F < 1)")
    if form == "fraction":
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not 0 < share < 1:
            raise SuiteError(f"evaluation.heldout = {spec!r}: the fraction must be a number between 0 and 1")
    return form, value.strip()


def heldout_ids(tasks: Iterable[Task], spec: str = DEFAULT) -> set[str]:
    form, value = parse_heldout(spec)
    tasks = list(tasks)
    if form == "split":
        return {t.instance_id for t in tasks if value in (t.split, t.extra.get("published_split"))}
    if form == "ids":
        wanted = {i.strip() for i in value.split(",") if i.strip()}
        unknown = wanted - {t.instance_id for t in tasks}
        if unknown:
            raise SuiteError(f"evaluation.heldout names tasks the suite does not have: {', '.join(sorted(unknown))}")
        return wanted
    return {t.instance_id for t in tasks if _unit(t.instance_id) < float(value)}


def _unit(instance_id: str) -> float:
    """A stable point in [0, 1) for an instance id."""
    return int.from_bytes(hashlib.sha256(instance_id.encode()).digest()[:8], "big") / 2**64

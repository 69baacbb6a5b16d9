"""Verification: before a child is paid a stage, it must resolve the task it was diagnosed from.

Each try is an evaluation row of its own (stage VERIFICATION_STAGE, task key `<task>@verify<n>`),
so a try is recorded once, survives a kill, and never counts as a result or towards a score.
Tries run one after another and stop at the first that resolves.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive.db import VERIFICATION_STAGE, RunDB

FAILED = "failed verification"  # the start of a failed child's reason
_MARK = "@verify"


def try_key(task_id: str, attempt: int) -> str:
    return f"{task_id}{_MARK}{attempt}"


def task_of(key: str) -> str:
    """The task an evaluation key runs: a verification try's task, or the key itself."""
    return key.split(_MARK, 1)[0]


@dataclass(frozen=True)
class Verdict:
    passed: bool  # a try resolved the task
    tries_done: int


def verdict(db: RunDB, variant_id: str, task_id: str) -> Verdict:
    tries = {key: bool(resolved) for variant, key, stage, status, resolved in db.evaluation_rows()
             if variant == variant_id and stage == VERIFICATION_STAGE and status == "done"
             and task_of(key) == task_id}
    return Verdict(any(tries.values()), len(tries))


def failure_reason(task_id: str, tries: int) -> str:
    return f"{FAILED}: did not resolve {task_id}, the task it was diagnosed from, in {tries} tr{'y' if tries == 1 else 'ies'}"


@dataclass(frozen=True)
class Savings:
    stopped: int  # children that failed verification
    tries: int  # verification evaluations run, over every child
    saved: int  # stage-0 evaluations the stopped children did not run

    def line(self) -> str:
        return (f"verification: {self.stopped} child(ren) stopped before stage 0, {self.saved} stage-0 "
                f"evaluation(s) saved, {self.tries} verification evaluation(s) run")


def savings(db: RunDB) -> Savings:
    stopped = sum(row.fail_reason.startswith(FAILED) for row in db.variants())
    tries = sum(stage == VERIFICATION_STAGE and status == "done" for _v, _t, stage, status, _r in db.evaluation_rows())
    return Savings(stopped, tries, stopped * int(db.meta("stage0_size", 0)))


def spending_lines(db: RunDB) -> list[str]:
    """What verification and the evaluation cache spared the run, for `dgm status`."""
    spared = savings(db)
    lines = [spared.line()] if spared.tries else []
    reused = len(db.reused_evaluations())
    if reused:
        lines.append(f"evaluation cache: {reused} evaluation(s) reused from earlier runs, no container started")
    return lines


def tries_line(db: RunDB, variant_id: str, task_id: str) -> str:
    """A variant's verification tries, for `dgm show` ("" when it had none)."""
    tries = sorted((key, bool(resolved)) for variant, key, stage, status, resolved in db.evaluation_rows()
                   if variant == variant_id and stage == VERIFICATION_STAGE and status == "done")
    if not tries:
        return ""
    shown = ", ".join(f"try {key.rsplit(_MARK, 1)[1]} {'resolved' if ok else 'not resolved'}" for key, ok in tries)
    line = f"verification on {task_id}: {shown}"
    if db.variant(variant_id).fail_reason.startswith(FAILED):
        line += f"; {int(db.meta('stage0_size', 0))} stage-0 evaluation(s) saved"
    return line

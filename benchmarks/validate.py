"""Prove a suite's harness: every gold patch resolves its task and no empty patch does, except
on a suite whose flag `empty_patch_may_resolve` says the benchmark itself has such tasks: those
are listed as free."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.grader import GradeResult
from benchmarks.task_suite import TaskSuite
from benchmarks.tasks import Task
from sandbox.pool import ContainerPool


@dataclass
class Validation:
    total: int = 0
    gold_resolved: int = 0
    empty_resolved: int = 0
    problems: list[str] = field(default_factory=list)  # "<id>: <what went wrong>"
    free: list[str] = field(default_factory=list)  # ids an empty patch resolves, where the suite allows it

    @property
    def ok(self) -> bool:
        return not self.problems and self.gold_resolved == self.total and self.empty_resolved == len(self.free)


def validate_suite(suite: TaskSuite, workers: int, log_root: Path,
                   on_done: Callable[[str, GradeResult], None] = lambda kind, result: None) -> Validation:
    tasks = suite.tasks()
    # gold patches of every task first: with an image per task, the first images build side by side
    jobs = [(task, kind) for kind in ("gold", "empty") for task in tasks]

    def run(job: tuple[Task, str]) -> GradeResult:
        task, kind = job
        return suite.grade(task, task.patch if kind == "gold" else "", log_dir=log_root / task.instance_id / kind,
                           timeout=600.0, run_id="validate")

    report = Validation(total=len(tasks))
    for (task, kind), result in ContainerPool(workers).map_unordered(run, jobs):
        if isinstance(result, BaseException):
            report.problems.append(f"{task.instance_id}: {kind} patch could not be graded: {result}")
            continue
        on_done(kind, result)
        if kind == "gold":
            report.gold_resolved += result.resolved
            if not result.resolved:
                report.problems.append(f"{task.instance_id}: gold patch not resolved ({result.reason})")
        else:
            report.empty_resolved += result.resolved
            if result.resolved and getattr(suite, "empty_patch_may_resolve", False):
                report.free.append(task.instance_id)
            elif result.resolved:
                report.problems.append(f"{task.instance_id}: empty patch resolved the task")
    report.problems.sort()
    report.free.sort()
    return report

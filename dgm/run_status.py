"""Where a run stands: step, archive, best, cost, rate and ETA, read from its database alone, so
`dgm status` works on a run that is going, stopped or killed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from archive.db import RunDB, RunLock
from dgm.llm.budget import budget_state
from dgm.run_dir import RunDir, variant_views
from dgm.run_view import VariantView, best_variant


@dataclass(frozen=True)
class RunStatus:
    state: str
    step: int  # steps launched
    max_steps: int
    steps_done: int  # steps whose children are all admitted or failed
    admitted: int
    failed: int
    in_progress: int
    best: VariantView | None
    cost: float
    evaluations: int  # finished task evaluations
    elapsed: float  # seconds of running, over every session
    reserved: float = 0.0  # dollars held by model calls in flight (the gateway's worst cases)
    budget: float | None = None  # the run's max_cost, when a model is configured
    saved_by_early_stops: int = 0

    @property
    def rate(self) -> float:
        """Finished evaluations per minute."""
        return 60 * self.evaluations / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds until max steps at the pace so far; None before a step has finished."""
        if self.steps_done == 0:
            return None
        return max(0.0, (self.max_steps - self.steps_done) * self.elapsed / self.steps_done)

    def line(self) -> str:
        best = "-" if self.best is None else f"{self.best.score:.2f} ({self.best.id}, stage {self.best.stage})"
        eta = "-" if self.eta is None else f"{self.eta / 60:.0f} min"
        return (f"step {self.step}/{self.max_steps}  archive {self.admitted} (+{self.failed} failed, "
                f"{self.in_progress} in progress)  best {best}  cost ${self.cost:.4f}"
                f"{f' of ${self.budget:g}' if self.budget else ''}"
                f"{f' (+${self.reserved:.4f} in flight)' if self.reserved else ''}  "
                f"{self.rate:.1f} evals/min  ETA {eta}")

    def evaluations_line(self) -> str:
        """The report's headline count of evaluations, for `dgm status`."""
        return f"{self.evaluations} evaluations, {self.saved_by_early_stops} saved by early stops"


def saved_by_early_stops(variants: Sequence[VariantView], sizes: Sequence[int]) -> int:
    """Evaluations not run because a variant stopped at a stage gate: the tasks of the stages it
    did not enter (`sizes`: each stage's tasks, a stage holding the ones before it)."""
    return sum(sizes[-1] - sizes[v.stage - 1] for v in variants if v.status == "admitted" and 0 < v.stage < len(sizes))


def stage_sizes(db: RunDB, configured: Sequence[int], tasks_seen: int) -> list[int]:
    """The stage sizes the run planned (the engine records them: the configured ones capped at the
    suite), else, for a run from before they were recorded, the configured ones capped at the
    training tasks it evaluated."""
    planned = db.meta("stage_sizes")
    if planned:
        return [int(size) for size in planned]
    return [min(size, tasks_seen) if tasks_seen else size for size in configured]


def run_status(run: RunDir, max_steps: int, *, budget: float | None = None,
               configured_stage_sizes: Sequence[int] = ()) -> RunStatus:
    db = run.db()
    views = variant_views(run)
    state = str(db.meta("state", "new"))
    if state == "running" and not RunLock.held(run.path):
        state = "interrupted (its process is gone): `dgm resume` continues it"
    finished = ("admitted", "failed")
    steps = {v.step for v in views if v.step > 0}
    steps_done = sum(all(v.status in finished for v in views if v.step == s) for s in steps)
    spent, reserved = budget_state(run.path)
    rows = db.evaluation_rows()
    evaluations = sum(1 for *_, status, _resolved in rows if status == "done")
    sizes = stage_sizes(db, configured_stage_sizes, len({task for _variant, task, stage, *_ in rows if stage >= 0}))
    return RunStatus(state, max(steps, default=0), max_steps, steps_done,
                     sum(v.status == "admitted" for v in views), sum(v.status == "failed" for v in views),
                     sum(v.status not in finished for v in views), best_variant(views),
                     max(db.total_cost(), spent), evaluations, float(db.meta("elapsed", 0.0)),
                     reserved if state == "running" else 0.0, budget, saved_by_early_stops(views, sizes))

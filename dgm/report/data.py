"""What the report draws, gathered once from a run directory: variants, every evaluation with its
exit and verdict, costs and tokens per child by kind, spend over time. Derived, never stored; the
same record is what `dgm report --json` writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dgm.eval_record import read_result
from dgm.run_dir import RunDir, variant_views
from dgm.run_status import saved_by_early_stops, stage_sizes
from dgm.run_view import VariantView, best_variant, path_to
from dgm.verification import savings

KINDS = ("diagnose", "self_modify", "evaluation")


@dataclass(frozen=True)
class Evaluation:
    variant_id: str
    task_id: str
    stage: int  # HELDOUT_STAGE: the held-out split; VERIFICATION_STAGE: a child's try on its diagnosed task
    status: str  # pending | running | done
    resolved: bool | None
    agent_exit: str = ""
    reason: str = ""  # the grader's verdict, when the logs kept it
    duration: float | None = None
    cost: float = 0.0
    log_dir: str = ""
    reused: bool = False  # taken from an earlier run's cache, not run here


@dataclass
class ChildCost:
    """Dollars and tokens of one variant, by kind (diagnose, self_modify, evaluation)."""

    dollars: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 0.0))
    prompt_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    completion_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    cached_tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    @property
    def total(self) -> float:
        return sum(self.dollars.values())

    @property
    def tokens(self) -> int:
        return sum(self.prompt_tokens.values()) + sum(self.completion_tokens.values())


@dataclass(frozen=True)
class SpendPoint:
    time: float  # unix seconds
    spent: float  # cumulative dollars


@dataclass(frozen=True)
class ReportData:
    title: str
    variants: Sequence[VariantView]
    run_dir: str = ""
    evaluations: Sequence[Evaluation] = ()
    costs: dict[str, ChildCost] = field(default_factory=dict)
    spend: Sequence[SpendPoint] = ()
    budget: float | None = None  # the run's max_cost, when a model is configured
    stage_sizes: Sequence[int] = ()  # as the run planned them (`stage_sizes` in dgm/run_status.py)
    best_id: str | None = None
    best_path: Sequence[str] = ()
    saved_by_verification: int = 0  # stage-0 evaluations children that failed verification did not run

    @property
    def saved_by_early_stops(self) -> int:
        return saved_by_early_stops(self.variants, self.stage_sizes)


def _kind(task: str) -> str:
    return task if task in ("diagnose", "self_modify") else "evaluation"


def _cost_kind(kind: str) -> str:
    """Rows of the costs table: 'diagnose', 'self_modify', or work on a task ('unfinished evaluation of T')."""
    return kind if kind in ("diagnose", "self_modify") else "evaluation"


def _read_calls(path: Path) -> list[dict]:
    calls = []
    if not path.exists():
        return calls
    with path.open() as lines:
        for line in lines:
            try:
                call = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            if isinstance(call, dict):
                calls.append(call)
    return calls


def _verdict(log_dir: str) -> str:
    """The grader's reason, from the result the engine left beside the evaluation's logs."""
    result = read_result(Path(log_dir)) if log_dir else None
    return result.reason if result is not None else ""


def report_data(run: RunDir, title: str, budget: float | None = None,
                configured_stage_sizes: Sequence[int] = ()) -> ReportData:
    """Everything the report shows of `run`, read from run.db, the logs and llm_calls.jsonl."""
    db = run.db()
    variants = variant_views(run)
    evaluations = [
        Evaluation(row["variant_id"], row["task_id"], row["stage"], row["status"],
                   None if row["resolved"] is None else bool(row["resolved"]), row.get("agent_exit") or "",
                   _verdict(row.get("log_dir") or ""), row.get("duration"), float(row.get("cost") or 0.0),
                   row.get("log_dir") or "", bool(row.get("reused") or 0))
        for row in db.evaluation_records()
    ]
    costs = {v.id: ChildCost() for v in variants}
    for e in evaluations:
        if e.variant_id in costs:
            costs[e.variant_id].dollars["evaluation"] += e.cost
    for variant, kind, dollars, _time in db.cost_records():
        if variant in costs:
            costs[variant].dollars[_cost_kind(kind)] += float(dollars)
    spend, total = [], 0.0
    # in time order: calls logged by several writers (a resumed run, the agents' bridge) may interleave
    calls = sorted(_read_calls(run.path / "llm_calls.jsonl"), key=lambda call: float(call.get("time") or 0.0))
    for call in calls:
        child = costs.get(str(call.get("variant")))
        kind = _kind(str(call.get("task")))
        if child is not None:
            child.prompt_tokens[kind] += int(call.get("prompt_tokens") or 0)
            child.completion_tokens[kind] += int(call.get("completion_tokens") or 0)
            child.cached_tokens[kind] += int(call.get("cached_tokens") or call.get("cache_read_tokens") or 0)
        if call.get("cost"):
            total += float(call["cost"])
            spend.append(SpendPoint(float(call.get("time") or 0.0), total))
    best = best_variant(variants)
    sizes = stage_sizes(db, configured_stage_sizes, len({e.task_id for e in evaluations if e.stage >= 0}))
    return ReportData(title, variants, str(run.path), evaluations, costs, spend, budget, tuple(sizes),
                      best.id if best else None, tuple(path_to(variants, best.id if best else None)),
                      savings(db).saved)


def as_json(data: ReportData) -> dict:
    """The record `dgm report --json` writes and the page is drawn from."""
    from dataclasses import asdict

    return {
        "title": data.title, "run_dir": data.run_dir, "budget": data.budget, "stage_sizes": list(data.stage_sizes),
        "best": data.best_id, "best_path": list(data.best_path),
        "saved_by_early_stops": data.saved_by_early_stops, "saved_by_verification": data.saved_by_verification,
        "variants": [asdict(v) for v in data.variants],
        "evaluations": [asdict(e) for e in data.evaluations],
        "costs": {vid: {**asdict(c), "total": c.total, "tokens": c.tokens} for vid, c in data.costs.items()},
        "spend": [asdict(p) for p in data.spend],
    }

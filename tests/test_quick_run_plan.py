"""The README's quick run evaluates every variant on few, quick tasks: its length is set by the
tasks the seeded plan picks, and an upstream-fix ("real") task costs a few single-bug ones."""

from __future__ import annotations

from pathlib import Path

from benchmarks.suite import load_suite
from dgm.config import load_config
from dgm.stages import plan_stages

QUICK = Path(__file__).resolve().parent.parent / "benchmarks/suites/pyfix/quick.toml"


def test_the_quick_run_plans_five_single_bug_tasks_per_variant():
    config = load_config(QUICK)
    tasks = {t.instance_id: t for t in load_suite(config.evaluation.suite).tasks()}
    plan = plan_stages([i for i, t in tasks.items() if t.split != "heldout"],
                       [i for i, t in tasks.items() if t.split == "heldout"],
                       config.evaluation.stage_sizes, config.evaluation.stage_thresholds, config.run.seed,
                       config.evaluation.heldout_size)
    chosen = [*plan.stages[-1], *plan.heldout]
    assert len(chosen) == 5 and len(plan.stages) == 1
    assert all(tasks[t].difficulty != "real" for t in chosen), [tasks[t].difficulty for t in chosen]

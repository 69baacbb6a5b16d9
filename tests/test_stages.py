"""Staged evaluation: same tasks for every variant, nested stages, thresholds gate the next one."""

from __future__ import annotations

from dgm.stages import plan_stages, score

TRAIN = [f"t{i:02d}" for i in range(20)]


def test_stages_are_nested_prefixes_of_one_seeded_order():
    plan = plan_stages(TRAIN, ["h1", "h2"], [5, 12], [0.4], seed=3)
    assert len(plan.stages[0]) == 5 and len(plan.stages[1]) == 12
    assert plan.stages[1][:5] == plan.stages[0]
    assert sorted(plan.full) == TRAIN
    assert plan.heldout == ("h1", "h2")
    assert not set(plan.heldout) & set(plan.full)
    assert plan == plan_stages(list(reversed(TRAIN)), ["h2", "h1"], [5, 12], [0.4], seed=3)
    assert plan.stages != plan_stages(TRAIN, [], [5, 12], [0.4], seed=4).stages


def test_threshold_gates_the_next_stage_and_the_last_stage_ends():
    plan = plan_stages(TRAIN, [], [5, 12], [0.4], seed=0)
    assert not plan.goes_on(0, 0.4)  # DGM: strictly above the threshold
    assert plan.goes_on(0, 0.6)
    assert not plan.goes_on(1, 1.0)
    assert plan.tasks_for(2) == plan.full


def test_stage_larger_than_the_suite_is_the_whole_suite():
    plan = plan_stages(TRAIN[:3], [], [10], [], seed=0)
    assert sorted(plan.stages[0]) == TRAIN[:3]


def test_score_counts_missing_results_as_unresolved():
    assert score({"a": True, "b": False}, ["a", "b", "c", "d"]) == 0.25
    assert score({}, []) == 0.0

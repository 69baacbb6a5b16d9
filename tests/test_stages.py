"""Staged evaluation: same tasks for every variant, nested stages, thresholds gate the next one
as DGM's do (resolved ≥ threshold × n), and fixed stage lists by task id (DGM's published ones)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from dgm.config import ConfigError, load_config
from dgm.stages import StageError, plan_stages, read_stage_lists, score

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


def test_a_variant_goes_on_at_resolved_at_least_threshold_times_n_as_in_dgm():
    plan = plan_stages(TRAIN, [], [10, 12], [0.4], seed=0)
    assert plan.goes_on(0, score(dict.fromkeys(plan.stages[0][:4], True), plan.stages[0]))  # 4 >= 0.4 x 10
    assert not plan.goes_on(0, score(dict.fromkeys(plan.stages[0][:3], True), plan.stages[0]))
    assert not plan.goes_on(1, 1.0)  # the last stage ends
    assert plan.tasks_for(2) == plan.full


def test_the_gate_agrees_with_exact_arithmetic_for_every_count_and_threshold():
    for threshold in (0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.9):
        for n in range(1, 61):
            plan = plan_stages([f"t{i}" for i in range(n)], [], [n, n], [threshold], seed=0)
            for resolved in range(n + 1):
                exact = Fraction(resolved, n) >= Fraction(str(threshold))
                assert plan.goes_on(0, resolved / n) == exact, (threshold, n, resolved)


def test_fixed_stage_lists_are_the_stages_in_their_order_each_including_the_ones_before():
    small, medium = ["t07", "t03"], ["t03", "t11", "t19", "t00"]
    plan = plan_stages(TRAIN, ["h1", "h2"], [5, 12], [0.4], seed=3, lists=[small, medium])
    assert plan.stages == (("t07", "t03"), ("t07", "t03", "t11", "t19", "t00"))
    assert plan.full[:5] == plan.stages[1] and sorted(plan.full) == TRAIN
    assert plan.stages == plan_stages(TRAIN, ["h1", "h2"], [], [0.4], seed=9, lists=[small, medium]).stages


def test_dgm_polyglot_ids_name_dgm_tasks_and_a_named_held_out_task_becomes_training():
    train, heldout = ["polyglot__go__dominoes", "polyglot__rust__bowling"], ["polyglot__cpp__all-your-base"]
    plan = plan_stages(train, heldout, [], [], seed=0, lists=[["go__dominoes", "cpp__all-your-base"]])
    assert plan.stages == (("polyglot__go__dominoes", "polyglot__cpp__all-your-base"),)
    assert plan.heldout == () and "polyglot__cpp__all-your-base" in plan.full


def test_a_stage_list_naming_an_unknown_task_is_refused_naming_it():
    with pytest.raises(StageError, match="names task 'rust__nope', which the suite does not have"):
        plan_stages(TRAIN, [], [], [], seed=0, lists=[["t01", "rust__nope"]])


def test_stage_lists_come_from_json_files_in_dgms_format_or_inline(tmp_path):
    small = tmp_path / "small.json"
    small.write_text(json.dumps(["t01", "t02"]))
    assert read_stage_lists([str(small), ["t03"]]) == [["t01", "t02"], ["t03"]]
    (tmp_path / "bad.json").write_text('{"t01": 1}')
    with pytest.raises(StageError, match="bad.json must hold a JSON list of task id strings"):
        read_stage_lists([str(tmp_path / "bad.json")])
    with pytest.raises(StageError, match="cannot read .*missing.json"):
        read_stage_lists([str(tmp_path / "missing.json")])


def test_the_config_takes_stage_lists_and_wants_a_threshold_per_list_after_the_first(tmp_path):
    path = tmp_path / "dgm.toml"
    path.write_text('[evaluation]\nstage_lists = ["small.json", ["t01", "t02"]]\nstage_thresholds = [0.4]\n')
    assert load_config(path).evaluation.stage_lists == ["small.json", ["t01", "t02"]]
    path.write_text('[evaluation]\nstage_lists = [["t01"], ["t02"], ["t03"]]\nstage_thresholds = [0.4]\n')
    with pytest.raises(ConfigError, match="one threshold per stage after the first"):
        load_config(path)
    path.write_text('[evaluation]\nstage_lists = [3]\nstage_thresholds = []\n')
    with pytest.raises(ConfigError, match=r"stage_lists\[0\] must be list or str, not 3"):
        load_config(path)


def test_stage_larger_than_the_suite_is_the_whole_suite():
    plan = plan_stages(TRAIN[:3], [], [10], [], seed=0)
    assert sorted(plan.stages[0]) == TRAIN[:3]


def test_score_counts_missing_results_as_unresolved():
    assert score({"a": True, "b": False}, ["a", "b", "c", "d"]) == 0.25
    assert score({}, []) == 0.0

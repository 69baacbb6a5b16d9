"""evaluation.heldout: by split name (a SWE-bench task repo's published split), by id list, or by
a stable hash fraction; a bad spec is a config error naming the forms."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks.heldout import heldout_ids
from benchmarks.suite import SuiteError
from benchmarks.task_suite import load_task_suite
from dgm.config import ConfigError, load_config

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "swebench"


def _tasks(n: int):
    task = load_task_suite(f"swebench:{FIXTURE}").tasks()[0]
    return [dataclasses.replace(task, instance_id=f"proj__proj-{i}") for i in range(n)]


def test_a_published_split_of_a_task_repo_can_be_held_out():
    tasks = load_task_suite(f"swebench:{FIXTURE}").tasks()
    assert heldout_ids(tasks, "split:test") == {t.instance_id for t in tasks}
    assert heldout_ids(tasks) == set()  # the default holds out only a split named heldout


def test_an_id_list_holds_out_exactly_those_and_names_unknown_ones():
    tasks = _tasks(5)
    assert heldout_ids(tasks, "ids:proj__proj-1, proj__proj-3") == {"proj__proj-1", "proj__proj-3"}
    with pytest.raises(SuiteError, match="does not have: proj__proj-9"):
        heldout_ids(tasks, "ids:proj__proj-9")


def test_a_fraction_is_stable_and_a_task_keeps_its_side_when_others_are_added():
    few, many = _tasks(200), _tasks(400)
    held_few, held_many = heldout_ids(few, "fraction:0.25"), heldout_ids(many, "fraction:0.25")
    assert held_few == heldout_ids(list(reversed(few)), "fraction:0.25")
    assert held_few == {t for t in held_many if int(t.rsplit("-", 1)[1]) < 200}
    assert 0.15 < len(held_many) / 400 < 0.35


def test_a_bad_heldout_spec_is_a_config_error(tmp_path):
    config = tmp_path / "dgm.toml"
    config.write_text('[evaluation]\nheldout = "fraction:2"\n')
    with pytest.raises(ConfigError, match="between 0 and 1"):
        load_config(config)
    config.write_text('[evaluation]\nheldout = "test"\n')
    with pytest.raises(ConfigError, match="use split:NAME, ids:ID1,ID2 or fraction:F"):
        load_config(config)

"""Task files: SWE-bench JSONL in both published shapes, and errors that name file, line, field."""

from __future__ import annotations

import json

import pytest

from benchmarks.tasks import TaskFormatError, load_tasks, task_record

SWE_BENCH = {
    "instance_id": "astropy__astropy-12907", "repo": "astropy/astropy",
    "base_commit": "d16bfe05a744909de4b27f5875fe0d4ed41ce607", "problem_statement": "Modeling's separability...",
    "patch": "diff --git a/x b/x\n", "test_patch": "diff --git a/t b/t\n",
    "FAIL_TO_PASS": '["astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]"]',
    "PASS_TO_PASS": '["astropy/modeling/tests/test_separable.py::test_coord_matrix"]',
    "version": "4.3", "environment_setup_commit": "298ccb478e6bf092953bca67a3d29dc6c35f6752", "hints_text": "",
    "created_at": "2022-03-03T15:14:54Z",
}


def _write(tmp_path, records) -> object:
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return path


def test_swe_bench_records_load_with_string_or_list_test_ids(tmp_path):
    as_lists = {**SWE_BENCH, "instance_id": "b", "FAIL_TO_PASS": ["t::a"], "PASS_TO_PASS": []}
    tasks = load_tasks(_write(tmp_path, [SWE_BENCH, as_lists]))
    assert tasks[0].fail_to_pass == ("astropy/modeling/tests/test_separable.py::test_separable[compound_model6-result6]",)
    assert tasks[0].source is None and tasks[0].split == "train"
    assert tasks[0].extra["environment_setup_commit"] == SWE_BENCH["environment_setup_commit"]
    assert tasks[1].fail_to_pass == ("t::a",) and tasks[1].pass_to_pass == ()


def test_a_record_round_trips_through_jsonl(tmp_path):
    record = {**SWE_BENCH, "FAIL_TO_PASS": ["t::a"], "PASS_TO_PASS": ["t::b"], "split": "heldout",
              "source": {"kind": "pypi", "location": "toolz==1.2.0", "setup_patch": "p", "pythonpath": ""}}
    (task,) = load_tasks(_write(tmp_path, [record]))
    (again,) = load_tasks(_write(tmp_path, [task_record(task)]))
    assert again == task


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("{not json", r"tasks.jsonl:1: not valid JSON"),
        ([1, 2], r"tasks.jsonl:1: a task must be a JSON object"),
        ({k: v for k, v in SWE_BENCH.items() if k != "patch"}, r"tasks.jsonl:1: field 'patch' is missing"),
        ({**SWE_BENCH, "FAIL_TO_PASS": "[oops"}, r"tasks.jsonl:1: field 'FAIL_TO_PASS': not a JSON list"),
        ({**SWE_BENCH, "PASS_TO_PASS": [1]}, r"tasks.jsonl:1: field 'PASS_TO_PASS': must be a list of test ids"),
        ({**SWE_BENCH, "base_commit": 7}, r"field 'base_commit' must be a string"),
        ({**SWE_BENCH, "split": "test"}, r"field 'split' must be train or heldout"),
        ({**SWE_BENCH, "source": {"kind": "svn", "location": "x"}}, r"field 'source'.kind: must be git, local or pypi"),
        ({**SWE_BENCH, "source": {"kind": "pypi", "location": "toolz"}}, r"a PyPI source is name==version"),
    ],
)
def test_malformed_records_name_file_line_and_field(tmp_path, record, message):
    with pytest.raises(TaskFormatError, match=message):
        load_tasks(_write(tmp_path, [record]))


def test_the_line_number_counts_from_one_and_skips_nothing(tmp_path):
    path = _write(tmp_path, [SWE_BENCH, "", {**SWE_BENCH, "instance_id": 5}])
    with pytest.raises(TaskFormatError, match=r"tasks.jsonl:3: field 'instance_id' must be a string"):
        load_tasks(path)


def test_duplicate_ids_and_missing_files_are_errors(tmp_path):
    with pytest.raises(TaskFormatError, match="appears twice"):
        load_tasks(_write(tmp_path, [SWE_BENCH, SWE_BENCH]))
    with pytest.raises(TaskFormatError, match="does not exist"):
        load_tasks(tmp_path / "none.jsonl")


def test_a_swe_bench_jsonl_file_loads_and_predictions_are_written(tmp_path):
    from benchmarks.swe_bench import load_swe_bench, write_predictions

    (task,) = load_swe_bench(str(_write(tmp_path, [SWE_BENCH])))
    assert task.instance_id == "astropy__astropy-12907"
    out = write_predictions(tmp_path / "preds.jsonl", [(task.instance_id, "diff")], "dgm-agent")
    assert json.loads(out.read_text()) == {"instance_id": "astropy__astropy-12907",
                                           "model_name_or_path": "dgm-agent", "model_patch": "diff"}

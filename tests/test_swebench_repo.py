"""SWE-bench 5.x task repos as a suite (`swebench:PATH`): our own three-task repo, one task per
log format (pytest, Django-style unittest, TAP from a custom eval.sh), built FROM the offline
sandbox image; the harness proves itself on it, keeps its container hardening, and a short
evolution run learns on it."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from archive.db import RunDB
from benchmarks.task_suite import load_task_suite
from tests.runs import dgm, one_task_run
from tests.scripted_world import LESSON

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "swebench"
SPEC = f"swebench:{FIXTURE}"


def test_gold_patches_resolve_and_empty_patches_do_not_in_every_log_format(tmp_path):
    result = dgm("bench", "validate", SPEC, "--logs", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "gold resolved 3/3 (100 %), empty resolved 0/3 (0 %)" in result.stdout
    for task, passed in (("tinycalc__tinycalc-1", "PASSED tests/test_calc.py::test_add"),
                         ("tinytext__tinytext-2",
                          "test_two_words (tests.test_text.InitialsTests.test_two_words) ... ok"),
                         ("tinywords__tinywords-3", "ok 2 count_words")):
        assert passed in (tmp_path / task / "gold" / "test_output.txt").read_text()


def test_model_patch_edits_to_the_tests_are_dropped_before_grading(tmp_path):
    suite = load_task_suite(SPEC)
    task = next(t for t in suite.tasks() if t.instance_id == "tinywords__tinywords-3")
    cheat = ("diff --git a/tests/run.sh b/tests/run.sh\n--- a/tests/run.sh\n+++ b/tests/run.sh\n"
             "@@ -1,2 +1,3 @@\n+echo 'ok 9 count_words'; exit 0\n # Prints TAP: one \"ok N name\" or \"not ok N name\" "
             "line per check.\n . lib/words.sh\n")
    result = suite.grade(task, cheat, log_dir=tmp_path, timeout=120, run_id="test-swebench")
    assert not result.resolved and result.dropped_paths == ("tests/run.sh",)
    assert result.fail_to_pass == {"count_words": "failed"}


def test_published_jsonl_rows_grade_on_the_image_they_name(tmp_path):
    from benchmarks.tasks import task_record

    repo = load_task_suite(SPEC)
    task = next(t for t in repo.tasks() if t.instance_id == "tinycalc__tinycalc-1")
    # the row names an image Docker has (here our fixture's; SWE-bench's official ones where a
    # registry is reachable); a row naming none gets swebench's name for it
    named = task_record(dataclasses.replace(task, extra={**task.extra, "image": repo.image_for(task)}))
    unnamed = task_record(dataclasses.replace(task, instance_id="django__django-11099",
                                              extra={k: v for k, v in task.extra.items() if k != "image"}))
    data = tmp_path / "verified.jsonl"
    data.write_text(json.dumps(named) + "\n" + json.dumps(unnamed) + "\n")
    suite = load_task_suite(f"swebench:{data}")
    tasks = {t.instance_id: t for t in suite.tasks()}
    assert tasks["django__django-11099"].extra["image"] == "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    row = tasks[task.instance_id]
    gold = suite.grade(row, task.patch, log_dir=tmp_path / "gold", timeout=120, run_id="test-swebench")
    empty = suite.grade(row, "", log_dir=tmp_path / "empty", timeout=120, run_id="test-swebench")
    assert gold.resolved and not empty.resolved, (gold.reason, empty.reason)


def test_a_malformed_task_names_the_task_and_the_field(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    meta = repo / "tasks" / "tinytext__tinytext-2" / "task.yaml"
    meta.write_text(meta.read_text().replace("log_parser: parse_log_django", "log_parser: parse_log_nose"))
    result = dgm("bench", "validate", f"swebench:{repo}")
    assert result.returncode != 0
    assert f"{meta}: log_parser 'parse_log_nose' is not one of swebench's parsers" in " ".join(result.stderr.split())
    (repo / "tasks" / "tinycalc__tinycalc-1" / "eval.sh").unlink()
    result = dgm("bench", "validate", f"swebench:{repo}")
    assert "tasks/tinycalc__tinycalc-1: missing eval.sh" in " ".join(result.stderr.split())


def test_validate_names_a_parametrized_test_in_full(tmp_path):
    # requests' Verified rows list `test_connect_timeout[timeout0]`; the console took `[timeout0]`
    # for markup and printed `test_connect_timeout` twice, naming neither test
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    for other in ("tinytext__tinytext-2", "tinywords__tinywords-3"):
        shutil.rmtree(repo / "tasks" / other)
    tests = repo / "tasks" / "tinycalc__tinycalc-1" / "tests.json"
    listed = json.loads(tests.read_text())
    tests.write_text(json.dumps({**listed, "PASS_TO_PASS": ["tests/test_calc.py::test_sub[timeout0]"]}))
    result = dgm("bench", "validate", f"swebench:{repo}", "--logs", str(tmp_path / "logs"))
    assert result.returncode != 0
    assert "PASS_TO_PASS test(s) broken, e.g. tests/test_calc.py::test_sub[timeout0]" in result.stdout, result.stdout


def test_without_the_swebench_package_the_error_names_the_extra(tmp_path):
    # a path entry that shadows the installed package with one that cannot be imported
    (tmp_path / "swebench").mkdir()
    (tmp_path / "swebench" / "__init__.py").write_text("raise ImportError('swebench is not installed')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-m", "dgm", "bench", "validate", SPEC], capture_output=True,
                            text=True, env=env)
    assert result.returncode != 0 and "pip install 'dgm[swebench]'" in result.stderr


def test_fail_only_tasks_fail_a_listed_test_only_when_the_log_shows_it_failing():
    from benchmarks.grader import verdict
    from benchmarks.swebench_repo import verdict_outcomes
    from swebench.harness.log_parsers import PARSER_REGISTRY

    task = load_task_suite(SPEC).tasks()[0]
    task = dataclasses.replace(task, fail_to_pass=("adds",), pass_to_pass=("keeps",))
    tap = PARSER_REGISTRY["parse_log_tap"]
    for log, resolved in (("ok 1 adds\n", True), ("not ok 1 adds\n", False), ("not ok 1 keeps\n", False)):
        outcomes = verdict_outcomes(task, tap(log, None), "fail_only")
        assert verdict(task, outcomes)[0] is resolved, log
    # the default rule: a listed test the log does not show has not passed
    assert not verdict(task, verdict_outcomes(task, tap("ok 1 adds\n", None), "pass_and_fail"))[0]


def test_a_listed_id_truncated_mid_parameter_takes_the_outcome_of_the_test_it_names():
    from benchmarks.grader import verdict
    from benchmarks.swebench_repo import verdict_outcomes

    task = dataclasses.replace(load_task_suite(SPEC).tasks()[0], fail_to_pass=("t.py::test_grammar[log(photon",),
                               pass_to_pass=("t.py::test_other",))
    passed = {"t.py::test_grammar[log(photon)]": "PASSED", "t.py::test_other": "PASSED"}
    assert verdict(task, verdict_outcomes(task, passed, "pass_and_fail"))[0]
    failed = {**passed, "t.py::test_grammar[log(photon)]": "FAILED"}
    assert not verdict(task, verdict_outcomes(task, failed, "pass_and_fail"))[0]


def test_a_short_run_learns_to_resolve_the_task_repo(tmp_path):
    # one task per variant keeps it short: the seed fails it, the child that learned the lesson
    # resolves it working in /testbed
    result = one_task_run(SPEC, load_task_suite(SPEC).tasks(), tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row.id: row for row in RunDB(tmp_path / "run" / "run.db").variants()}
    assert rows["seed"].score == 0.0
    child = rows["v1-1"]
    assert child.status == "admitted" and LESSON in child.diagnosis and child.score == 1.0

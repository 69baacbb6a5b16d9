"""The Polyglot suite kind in containers, on our own exercises in Python, Go, Rust and C++
(tests/fixtures/polyglot): the harness proves itself (gold 100 %, empty 0 %), a patch that
rewrites the tests gains nothing, the agent works without the tests, and a short `dgm run`
evolves on the suite with the scripted model."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from archive.db import RunDB
from benchmarks.polyglot import load_polyglot_suite
from benchmarks.polyglot_layout import file_diff
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from tests.runs import dgm, run_config
from tests.scripted_world import LESSON, ScriptedWorld

TREE = Path(__file__).resolve().parent / "fixtures" / "polyglot"
GENOME = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def suite():
    suite = load_polyglot_suite(TREE)
    suite.image_for(suite.tasks()[0])  # built (or found) once, before any timed command
    return suite


def test_dgm_bench_validate_resolves_every_gold_patch_and_no_empty_one(suite, tmp_path):
    result = dgm("bench", "validate", f"polyglot:{TREE}", "--workers", "2", "--logs", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "gold resolved 5/5 (100 %), empty resolved 0/5 (0 %)" in " ".join(result.stdout.split())
    # every language's empty patch failed in its own tests, not in the harness
    for task in suite.tasks():
        reason = (tmp_path / task.instance_id / "empty" / "test_output.txt").read_text()
        assert "[dgm] tests exited" in reason and "tests exited 0" not in reason, task.instance_id


def test_a_patch_that_rewrites_the_tests_gains_nothing(suite, tmp_path):
    task = next(t for t in suite.tasks() if t.instance_id == "polyglot__python__word-lengths")
    tests = TREE / "python/exercises/practice/word-lengths/word_lengths_test.py"
    cheat = file_diff("word_lengths_test.py", tests.read_text(), "def test_nothing():\n    pass\n")
    result = suite.grade(task, cheat + file_diff("conftest.py", "", "collect_ignore_glob = ['*']\n"),
                         log_dir=tmp_path, timeout=300, run_id="test-polyglot")
    assert not result.resolved and result.applied
    assert result.dropped_paths == ("word_lengths_test.py", "conftest.py")
    assert result.reason == "the python tests failed (exit 1)"
    assert result.fail_to_pass == {"word_lengths_test.py": "failed"}


def test_a_solution_that_loops_forever_fails_at_the_test_limit(suite, tmp_path):
    task = next(t for t in suite.tasks() if t.instance_id == "polyglot__python__clamp-range")
    stub = (TREE / "python/exercises/practice/clamp-range/clamp_range.py").read_text()
    looping = file_diff("clamp_range.py", stub, "def clamp(value, low, high):\n    while True:\n        pass\n")
    result = suite.grade(task, looping, log_dir=tmp_path, timeout=30, run_id="test-polyglot")
    assert not result.resolved and result.reason == "the tests ran past 10 s"


def test_the_agent_solves_an_exercise_without_ever_seeing_its_tests(suite, tmp_path):
    tasks = [t for t in suite.tasks() if t.split == "train"][:2]  # C++ and Python

    def model(body: dict) -> ScriptedReply:
        messages = body["messages"]
        turn = sum(m["role"] == "assistant" for m in messages)
        task = next(t for t in tasks if t.problem_statement in messages[1]["content"])
        if turn == 0:
            listing = "find . -type f -not -path './.git/*' | sort"
            return ScriptedReply(tool_calls=[{"name": "bash", "arguments": {"command": listing}}])
        if turn == 1:
            return ScriptedReply(tool_calls=[{"name": "apply_diff", "arguments": {"diff": task.patch}}])
        return ScriptedReply(tool_calls=[{"name": "submit", "arguments": {}}])

    with ScriptedLLMServer(model) as server:
        result = dgm("bench", "run", "--suite", f"polyglot:{TREE}", "--agent", str(GENOME), "--tasks", "2",
                     "--workers", "2", "--model", "openai/scripted", "--api-base", server.url, "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    runs = json.loads((tmp_path / "results.json").read_text())["tasks"]
    assert [(r["instance_id"], r["resolved"]) for r in runs] == [(t.instance_id, True) for t in tasks]
    for task in tasks:
        listing = (tmp_path / task.instance_id / "agent" / "out" / "trajectory.jsonl").read_text()
        exercise = suite.exercise(task)
        assert all(f"./{path}" in listing for path in exercise.agent_files()), task.instance_id
        assert not any(f"./{test}" in listing for test in exercise.tests) and ".meta" not in listing


def test_a_short_dgm_run_evolves_on_the_polyglot_suite(suite, tmp_path):
    # the training exercises only (Go's is held out), so the run has no held-out pass: one stage of
    # 2 tasks for the seed, a self-modification, the same 2 for the child
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree, ignore=shutil.ignore_patterns("go", "conftest.py"))
    tasks = load_polyglot_suite(tree).tasks()
    assert {t.split for t in tasks} == {"train"}
    with ScriptedLLMServer(ScriptedWorld(tasks)) as server:
        config = run_config(tmp_path / "dgm.toml", f"polyglot:{tree}", server.url, max_steps=1)
        result = dgm("run", "--config", str(config), "--run-dir", str(tmp_path / "run"),
                     "--set", "evaluation.stage_sizes=[2]", "--set", "evaluation.stage_thresholds=[]",
                     "--set", "evaluation.full_suite_for_best=false")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row.id: row for row in RunDB(tmp_path / "run" / "run.db").variants()}
    child = next(row for row in rows.values() if row.parent_id)
    assert LESSON in child.diagnosis and child.status == "admitted"
    assert child.score == 1.0 > rows[child.parent_id].score
    with sqlite3.connect(tmp_path / "run" / "run.db") as conn:
        solved = [task for task, in conn.execute(
            "SELECT task_id FROM evaluations WHERE status = 'done' AND resolved = 1 AND variant_id = ?", (child.id,))]
    assert len(solved) == 2 and set(solved) <= {t.instance_id for t in tasks}

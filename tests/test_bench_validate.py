"""`dgm bench validate`: the bundled suite's harness is right (gold 100 %, empty 0 %), its
held-out split repeats no training task, and a malformed suite is a one-line error naming the
file, line and field."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from benchmarks.generate import related_groups
from benchmarks.suite import load_suite


def _dgm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dgm", *args], capture_output=True, text=True, timeout=1800)


def test_the_bundled_suite_validates_at_100_and_0_percent(tmp_path):
    suite = load_suite("pyfix")
    tasks = suite.tasks()
    assert len(tasks) >= 40
    assert len({t.repo for t in tasks}) >= 6
    assert {t.difficulty for t in tasks} >= {"one-token", "multi-line", "two-function"}
    assert any(t.split == "heldout" for t in tasks)
    generated = [t for t in tasks if t.difficulty != "real"]
    # no held-out task shares a gold patch or an injected location with a training task
    assert all(len({t.split for t in group}) == 1 for group in related_groups(generated))
    result = _dgm("bench", "validate", "pyfix", "--workers", "2", "--logs", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"gold resolved {len(tasks)}/{len(tasks)} (100 %), empty resolved 0/{len(tasks)} (0 %)" in " ".join(result.stdout.split())


def test_a_malformed_task_file_is_one_clear_line(tmp_path):
    suite_dir = tmp_path / "broken"
    shutil.copytree(load_suite("pyfix").root, suite_dir)
    lines = (suite_dir / "tasks.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    del record["FAIL_TO_PASS"]
    lines[1] = json.dumps(record)
    (suite_dir / "tasks.jsonl").write_text("\n".join(lines) + "\n")
    result = _dgm("bench", "validate", str(suite_dir))
    assert result.returncode == 1
    assert f"{suite_dir / 'tasks.jsonl'}:2: field 'FAIL_TO_PASS' is missing" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_two_tasks_with_one_gold_patch_are_refused(tmp_path):
    suite_dir = tmp_path / "dup"
    shutil.copytree(load_suite("pyfix").root, suite_dir)
    first = json.loads((suite_dir / "tasks.jsonl").read_text().splitlines()[0])
    twin = {**first, "instance_id": first["instance_id"] + "-twin"}
    (suite_dir / "tasks.jsonl").write_text(json.dumps(first) + "\n" + json.dumps(twin) + "\n")
    result = _dgm("bench", "validate", str(suite_dir))
    assert result.returncode == 1
    assert f"tasks {first['instance_id']} and {twin['instance_id']} have the same gold patch" in " ".join(result.stderr.split())


def test_two_tasks_with_one_problem_statement_and_different_fixes_are_refused(tmp_path):
    # A two-function bug once failed the same first test as one of its single bugs: the agent (and
    # the scripted model) got one report for two tasks with different gold patches.
    suite_dir = tmp_path / "dup"
    shutil.copytree(load_suite("pyfix").root, suite_dir)
    records = [json.loads(line) for line in (suite_dir / "tasks.jsonl").read_text().splitlines()]
    first, second = [r for r in records if r["repo"] == "inflection"][:2]
    twin = {**second, "problem_statement": first["problem_statement"]}
    (suite_dir / "tasks.jsonl").write_text(json.dumps(first) + "\n" + json.dumps(twin) + "\n")
    result = _dgm("bench", "validate", str(suite_dir))
    assert result.returncode == 1
    assert (f"tasks {first['instance_id']} and {twin['instance_id']} have the same problem statement"
            in " ".join(result.stderr.split()))

"""The model-free repair policy fixes a real bug: in a git repository made here (a comparison
slip caught by a test), and on bundled one-token tasks inside the sandbox, graded as usual."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GENOME = Path(__file__).resolve().parent.parent

MODULE = '''\
def clamp(x, low, high):
    if x < low:
        return low
    if x > high:
        return high
    return x


def in_range(x, low, high):
    """True when low <= x <= high."""
    return low <= x < high


def total(values):
    result = 0
    for v in values:
        result += v
    return result
'''
TESTS = '''\
from shapes.ranges import clamp, in_range, total


def test_clamp():
    assert clamp(5, 0, 3) == 3 and clamp(-1, 0, 3) == 0 and clamp(2, 0, 3) == 2


def test_in_range_inside():
    assert in_range(2, 1, 3)


def test_in_range_upper_bound():
    assert in_range(3, 1, 3)


def test_in_range_outside():
    assert not in_range(4, 1, 3) and not in_range(0, 1, 3)


def test_total():
    assert total([1, 2, 3]) == 6
'''
ISSUE = '''\
in_range rejects its upper bound

    python -m pytest "tests/test_ranges.py::test_in_range_upper_bound"

fails with AssertionError.
'''


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def buggy_repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "shapes").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "shapes" / "__init__.py").write_text("")
    (repo / "shapes" / "ranges.py").write_text(MODULE)
    (repo / "tests" / "test_ranges.py").write_text(TESTS)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return repo


def _records(trajectory: Path) -> list[dict]:
    return [json.loads(line) for line in trajectory.read_text().splitlines() if line.strip()]


def test_without_a_model_the_repair_policy_fixes_a_comparison_slip(buggy_repo, tmp_path):
    (tmp_path / "issue.md").write_text(ISSUE)
    env = {k: v for k, v in os.environ.items() if k not in ("DGM_MODEL", "DGM_POLICY")}
    env["PYTHONPATH"] = str(GENOME)
    result = subprocess.run([sys.executable, "-m", "agent", "solve", "--repo", str(buggy_repo),
                             "--issue", str(tmp_path / "issue.md"), "--patch-out", str(tmp_path / "out.patch"),
                             "--trajectory", str(tmp_path / "t.jsonl")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    records = _records(tmp_path / "t.jsonl")
    assert records[-1] == {**records[-1], "type": "exit", "reason": "submitted"}
    assert any(r["type"] == "repair" and r.get("step") == "candidate" for r in records)
    patch = (tmp_path / "out.patch").read_text()
    changed = [l for l in patch.splitlines() if l[:1] in "+-" and l[:3] not in ("+++", "---")]
    assert changed == ["-    return low <= x < high", "+    return low <= x <= high"], patch

    # The patch alone, on a fresh checkout, makes every test pass.
    fresh = tmp_path / "fresh"
    _git(tmp_path, "clone", "-q", str(buggy_repo), str(fresh))
    subprocess.run(["git", "apply"], input=patch, cwd=fresh, check=True, text=True)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                           cwd=fresh, env={**env, "PYTHONPATH": str(fresh)}, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout
    # Nothing but the fix is left in the working tree (no bytecode, no reports).
    status = subprocess.run(["git", "status", "--porcelain"], cwd=buggy_repo, capture_output=True, text=True).stdout
    assert status.split() == ["M", "shapes/ranges.py"]


def test_with_the_llm_policy_but_no_model_the_agent_says_so(buggy_repo, tmp_path):
    (tmp_path / "issue.md").write_text(ISSUE)
    env = {k: v for k, v in os.environ.items() if k != "DGM_MODEL"}
    env.update(PYTHONPATH=str(GENOME), DGM_POLICY="llm")
    result = subprocess.run([sys.executable, "-m", "agent", "solve", "--repo", str(buggy_repo),
                             "--issue", str(tmp_path / "issue.md")], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "no model configured" in result.stderr


def test_issue_test_ids_are_read_from_quoted_and_bare_mentions():
    from agent.repair.testrun import issue_test_ids

    issue = ('run `python -m pytest "tests/test_func.py::RRDecoratorTest::test_x"` and also '
             "test_inflection.py::test_tableize[ChildToy-child_toys], and 'tests/t.py::test_p[a b]'.")
    assert issue_test_ids(issue) == ["tests/test_func.py::RRDecoratorTest::test_x", "tests/t.py::test_p[a b]",
                                     "test_inflection.py::test_tableize[ChildToy-child_toys]"]


def test_one_token_bundled_tasks_are_resolved_in_the_sandbox_without_a_model(pyfix, pyfix_image, tmp_path):
    from benchmarks.agent_run import run_agent_on_task
    from benchmarks.grader import grade
    from sandbox.container import Limits
    from sandbox.pool import ContainerPool

    # One-token bugs of two projects, in the training split, whose repair search is quick (their
    # fix is among the first 20 candidates): one pool round. Not inflection's first one-token
    # task: its search spends the whole 240 s budget without a fix, so it only made the test wait.
    quick = ("cachetools__boolean____iter____771", "inflection__negation__parameterize__274")
    tasks = [t for t in pyfix.tasks() if t.instance_id in quick]
    assert sorted(t.instance_id for t in tasks) == sorted(quick)
    assert all(t.difficulty == "one-token" and t.split != "heldout" for t in tasks)

    def attempt(task):
        log = tmp_path / task.instance_id
        outcome = run_agent_on_task(GENOME, task, pyfix, pyfix_image, log_dir=log / "agent",
                                    limits=Limits(timeout=600))
        records = _records(outcome.trajectory) if outcome.trajectory.exists() else []
        assert any(r["type"] == "repair" for r in records), (log / "agent" / "agent_output.txt").read_text()[-3000:]
        return outcome, grade(task, outcome.patch, pyfix, pyfix_image, log_dir=log / "grade", timeout=300)

    resolved, reports = [], []
    for task, done in ContainerPool(2).map_unordered(attempt, tasks):
        if isinstance(done, BaseException):
            raise done
        outcome, result = done
        reports.append(f"{task.instance_id}: {outcome.agent_exit} -> {result.reason}")
        if result.resolved:
            resolved.append(task.instance_id)
    assert len(resolved) == len(tasks), "\n".join(reports)

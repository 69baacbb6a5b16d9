"""Suites whose projects come from a local directory or a git repository at a commit (not only
PyPI), and name test requirements, build an environment and grade: gold 100 %, empty 0 %."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys

GOOD = "def double(x):\n    return x * 2\n\n\ndef zero():\n    return 0\n"
BAD = GOOD.replace("x * 2", "x * 3")
TESTS = "from toy import double, zero\n\n\ndef test_double():\n    assert double(3) == 6\n\n\ndef test_zero():\n    assert zero() == 0\n"
# Needs a package the sandbox image does not hold: it must come from the project's requirements.
TESTS_NEEDING_TOML = "import toml\n\n" + TESTS.replace("== 0\n", "== toml.loads('z = 0')['z']\n")


def _patch(before: str, after: str) -> str:
    body = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), "a/toy.py", "b/toy.py"))
    return "diff --git a/toy.py b/toy.py\n" + body


def _project(root, tests: str = TESTS):
    root.mkdir()
    (root / "toy.py").write_text(GOOD)
    (root / "tests").mkdir()
    (root / "tests" / "test_toy.py").write_text(tests)
    return root


def _task(instance_id: str, kind: str, location: str) -> dict:
    return {"instance_id": instance_id, "repo": instance_id, "base_commit": "base", "problem_statement": "double(3) is 9",
            "patch": _patch(BAD, GOOD), "test_patch": "", "FAIL_TO_PASS": ["tests/test_toy.py::test_double"],
            "PASS_TO_PASS": ["tests/test_toy.py::test_zero"],
            "source": {"kind": kind, "location": location, "setup_patch": _patch(GOOD, BAD)}}


def test_local_and_git_projects_with_test_requirements_validate(tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    _project(suite / "toy-local", TESTS_NEEDING_TOML)
    repo = _project(tmp_path / "toy-git")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "v1"], cwd=repo, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    (repo / "toy.py").write_text("broken later\n")  # the working tree moves on; the commit is what counts
    (suite / "suite.toml").write_text(
        'name = "toys"\n\n'
        '[[projects]]\nname = "toy-local"\nsource = "local"\nlocation = "toy-local"\ntests = "tests"\n'
        'requirements = ["toml==0.10.2"]\n\n'
        f'[[projects]]\nname = "toy-git"\nsource = "git"\nlocation = "{repo}"\ncommit = "{commit}"\ntests = "tests"\n'
    )
    tasks = [_task("local-1", "local", str(suite / "toy-local")), _task("git-1", "git", str(repo))]
    (suite / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    result = subprocess.run([sys.executable, "-m", "dgm", "bench", "validate", str(suite), "--logs", str(tmp_path / "logs")],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "gold resolved 2/2 (100 %), empty resolved 0/2 (0 %)" in " ".join(result.stdout.split())


def test_a_project_missing_what_its_source_needs_is_named(tmp_path):
    (tmp_path / "suite.toml").write_text('name = "x"\n[[projects]]\nname = "p"\nsource = "git"\nlocation = "/r"\ntests = "t"\n')
    (tmp_path / "tasks.jsonl").write_text("")
    result = subprocess.run([sys.executable, "-m", "dgm", "bench", "validate", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and "project 'p' (git) needs commit" in result.stderr

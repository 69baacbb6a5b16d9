"""Real upstream fixes become tasks: the release diff splits into a gold patch and a test patch
that apply with git, the version bump stays out, FAIL_TO_PASS/PASS_TO_PASS come from running the
tests, and the bundled real tasks are exactly what the module builds from real_fixes.toml."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.real_fixes import DIFFICULTY, Fix, RealFixError, build_task, load_fixes, release_diff, write_real_tasks
from benchmarks.suite import load_suite

BODY = "".join(f"def helper_{i}():\n    return {i}\n\n\n" for i in range(12))
BUGGY = 'VERSION = "1.0.0"\n\n\n' + BODY + "def double(x):\n    return x * 3\n"
FIXED = 'VERSION = "1.0.1"\nRELEASE = "1.0.1"\n\n\n' + BODY + "def double(x):\n    return x * 2\n"


def _tree(root: Path, source: str, tests: dict[str, str], changes: str) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "core.py").write_text(source)
    (root / "CHANGES.rst").write_text(changes)
    (root / "pyproject.toml").write_text(f'[project]\nversion = "{changes.split()[0]}"\n')
    for path, text in tests.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def _git_apply(tree: Path, patch: str) -> None:
    (tree.parent / "p.diff").write_text(patch)
    proc = subprocess.run(["git", "apply", "--whitespace=nowarn", str(tree.parent / "p.diff")],
                          cwd=tree, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_release_diff_splits_fix_from_tests_and_leaves_out_the_version_bump(tmp_path):
    before = _tree(tmp_path / "before", BUGGY, {"tests/files/q.sql": "SELECT 1;"}, "1.0.0\n")
    after = _tree(tmp_path / "after", FIXED, {
        "tests/files/q.sql": "SELECT 1;\nSELECT 2;",  # no newline at the end, as in sqlparse's data files
        "tests/test_core.py": "from pkg.core import double\n\n\ndef test_double():\n    assert double(2) == 4\n",
    }, "1.0.1\nfixed double\n")

    diff = release_diff(before, after, ("1.0.0", "1.0.1"))

    assert "VERSION" not in diff.patch and "RELEASE" not in diff.patch
    assert set(diff.dropped) == {"CHANGES.rst", "pyproject.toml"}
    work = tmp_path / "work"
    shutil.copytree(before, work)
    _git_apply(work, diff.patch)
    _git_apply(work, diff.test_patch)
    # the fix is in, renumbered past the dropped two-line bump; the version is the buggy release's
    assert (work / "pkg" / "core.py").read_text() == BUGGY.replace("x * 3", "x * 2")
    for path in ("tests/files/q.sql", "tests/test_core.py"):
        assert (work / path).read_text() == (after / path).read_text()


def test_writing_real_tasks_keeps_generated_lines_and_replaces_real_ones(tmp_path, pyfix):
    shutil.copy(pyfix.root / "suite.toml", tmp_path / "suite.toml")
    lines = pyfix.tasks_file.read_text().splitlines()
    generated = [line for line in lines if json.loads(line).get("difficulty") != DIFFICULTY]
    real = [line for line in lines if json.loads(line).get("difficulty") == DIFFICULTY]
    (tmp_path / "tasks.jsonl").write_text("\n".join(real[:1] + generated[:3]) + "\n")
    suite = load_suite(str(tmp_path))

    write_real_tasks(suite, [t for t in pyfix.tasks() if t.difficulty == DIFFICULTY][1:3])

    written = (tmp_path / "tasks.jsonl").read_text().splitlines()
    assert written[:3] == generated[:3]
    assert [json.loads(line)["instance_id"] for line in written[3:]] == \
        sorted(json.loads(line)["instance_id"] for line in real[1:3])


def test_bundled_real_task_is_what_its_upstream_fix_builds(pyfix, pyfix_image):
    fix = next(f for f in load_fixes(pyfix) if f.project == "xmltodict==0.14.1")
    bundled = next(t for t in pyfix.tasks() if t.instance_id == fix.instance_id)

    task = build_task(fix, pyfix, pyfix_image)

    assert task == bundled
    assert task.difficulty == "real" and task.source.setup_patch == ""
    assert task.fail_to_pass == ("tests/test_xmltodict.py::XMLToDictTestCase::test_keep_whitespace",
                                 "tests/test_xmltodict.py::XMLToDictTestCase::test_skip_whitespace")
    assert task.patch.startswith("diff --git a/xmltodict.py b/xmltodict.py") and "__version__" not in task.patch


def test_a_fix_naming_a_source_file_its_release_does_not_change_is_refused(pyfix):
    fix = Fix("sqlparse==0.5.0", "0.5.1", "typo", "report\n", files=("sqlparse/engine/statement_spliter.py",))

    with pytest.raises(RealFixError, match=r"statement_spliter\.py are not among the source files sqlparse==0\.5\.1 "
                                           r"changes \(.*sqlparse/engine/statement_splitter\.py"):
        build_task(fix, pyfix, image="never used: refused before any container")

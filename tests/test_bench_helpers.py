"""Modules the tests import as helpers count as test set-up: a patch that weakens an assertion
helper is dropped and the task is not graded resolved, while the code under test stays gradable."""

from __future__ import annotations

import difflib
import json

from benchmarks.grader import grade
from benchmarks.helper_modules import helper_modules
from benchmarks.suite import ensure_environment_image, load_suite

CORE = "from pkg.util import MISSING\n\n\ndef double(x=MISSING):\n    return x * 2\n"
FILES = {
    "pkg/__init__.py": "from .core import double\n",
    "pkg/core.py": CORE,
    "pkg/testing.py": "def assert_same(a, b):\n    assert a == b, f'{a!r} != {b!r}'\n",
    # mixed: the library uses MISSING, only the tests use raises
    "pkg/util.py": "MISSING = object()\n\n\ndef raises(err, f):\n    try:\n        f()\n    except err:\n"
                   "        return True\n    return False\n",
    "pkg/_checks.py": "import pytest\n\n\ndef close(a, b):\n    assert a == pytest.approx(b)\n",
    "pkg/contrib.py": "def triple(x):\n    return x * 3\n",  # a public submodule, under test
    "pkg/asserts.py": "def same_length(a, b):\n    if len(a) != len(b):\n        raise AssertionError(a)\n",
    "tests/helpers.py": "from pkg._checks import close\n",
    "tests/test_core.py": "from pkg import double\nfrom pkg.contrib import triple\nfrom pkg.testing import assert_same\n"
                          "from pkg.util import raises\nfrom pkg.asserts import same_length\nfrom helpers import close\n\n\n"
                          "def test_double():\n    assert_same(double(3), 6)\n\n\n"
                          "def test_double_needs_a_number():\n    assert raises(TypeError, lambda: double(None))\n\n\n"
                          "def test_close():\n    close(double(0.5), 1.0)\n\n\ndef test_triple():\n    assert triple(1) == 3\n",
}


def _diff(path: str, before: str, after: str) -> str:
    body = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}"))
    return f"diff --git a/{path} b/{path}\n{body}"


def _write(root) -> None:
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def test_helpers_are_found_through_imports_and_code_under_test_is_not(tmp_path):
    _write(tmp_path)
    found = helper_modules(tmp_path, "", ["tests/test_core.py"])
    # named for testing; only the tests use `raises`; an asserting function only the tests use;
    # imports pytest (reached through tests/helpers.py)
    assert found == {"pkg/testing.py", "pkg/util.py", "pkg/asserts.py", "pkg/_checks.py"}
    changed_by_the_fix = helper_modules(tmp_path, "", ["tests/test_core.py"], ["pkg/util.py"])
    assert changed_by_the_fix == {"pkg/testing.py", "pkg/asserts.py", "pkg/_checks.py"}


def test_weakening_an_assertion_helper_is_dropped_and_not_resolved(tmp_path):
    suite = tmp_path / "suite"
    _write(suite / "proj")
    buggy = CORE.replace("x * 2", "x * 3")
    task = {"instance_id": "proj-1", "repo": "proj", "base_commit": "base", "problem_statement": "double(3) is 9",
            "patch": _diff("pkg/core.py", buggy, CORE), "test_patch": "",
            "FAIL_TO_PASS": ["tests/test_core.py::test_double"], "PASS_TO_PASS": ["tests/test_core.py::test_triple"],
            "source": {"kind": "local", "location": str(suite / "proj"), "setup_patch": _diff("pkg/core.py", CORE, buggy)}}
    (suite / "suite.toml").write_text('name = "helpers"\n[[projects]]\nname = "proj"\nsource = "local"\n'
                                      'location = "proj"\ntests = "tests"\n')
    (suite / "tasks.jsonl").write_text(json.dumps(task) + "\n")
    loaded = load_suite(str(suite))
    image = ensure_environment_image(loaded)
    [loaded_task] = loaded.tasks()
    weakened = _diff("pkg/testing.py", FILES["pkg/testing.py"], "def assert_same(a, b):\n    pass\n")
    cheat = grade(loaded_task, weakened, loaded, image, log_dir=tmp_path / "cheat")
    gold = grade(loaded_task, loaded_task.patch, loaded, image, log_dir=tmp_path / "gold")
    assert cheat.dropped_paths == ("pkg/testing.py",)
    assert not cheat.resolved and "FAIL_TO_PASS" in cheat.reason
    assert gold.resolved and gold.dropped_paths == ()

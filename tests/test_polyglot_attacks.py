"""Solutions that try to pass Polyglot grading without passing its tests, graded for real in the
polyglot image on our own exercises (tests/fixtures/polyglot, the attacks in
tests/fixtures/polyglot_attacks): ending the test process with status 0 before a test fails (at
import, in a static initialiser, in a call every test makes), skipping or aborting every test,
counting tests of their own, rewriting the tests at run time, a Cargo.toml that runs a build
script or drops the tests, and looking for the supervisor's nonce. Each is graded unresolved, and
the verdict names the cause; each of them but Go's call to os.Exit(0) was graded resolved when
the verdict was the test phase's exit code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from benchmarks.polyglot import load_polyglot_suite, solution_changes
from benchmarks.polyglot_layout import file_diff

TREE = Path(__file__).resolve().parent / "fixtures" / "polyglot"
ATTACKS = Path(__file__).resolve().parent / "fixtures" / "polyglot_attacks"
ENDED_EARLY = "the test run ended before its summary (exit 0)"
CASES = [  # (exercise, the solution files it replaces, its files, the verdict); several joined by "+"
    ("python__clamp-range", "clamp_range.py", "python/exit_at_import.py", ENDED_EARLY),
    ("python__clamp-range", "clamp_range.py", "python/skip_every_test.py",
     "0 of 4 tests ran and passed (exit 0): the rest did not run"),
    ("python__clamp-range", "clamp_range.py", "python/rewrite_the_tests.py",
     "the tests changed the test files: clamp_range_test.py"),
    ("rust__count-runs", "src/lib.rs", "rust/exit_in_every_call.rs", ENDED_EARLY),
    ("rust__count-runs", "src/lib.rs", "rust/exit_before_main.rs", ENDED_EARLY),
    ("rust__count-runs", "Cargo.toml", "rust/Cargo-no-tests.toml",
     "configure failed: error: Cargo.toml may not set package.autotests (it would run code before the tests "
     "or replace them)"),
    ("rust__count-runs", "src/lib.rs+Cargo.toml", "rust/build_script.rs+rust/Cargo-build-script.toml",
     "configure failed: error: Cargo.toml may not set package.build (it would run code before the tests or "
     "replace them)"),
    ("cpp__middle-value", "middle_value.cpp", "cpp/exit_in_a_global_constructor.cpp", ENDED_EARLY),
    ("cpp__middle-value", "middle_value.cpp", "cpp/quick_exit_in_a_call.cpp", ENDED_EARLY),
    ("go__rotate-list", "rotate_list.go", "go/exit_in_init.go", "0 of 2 tests ran and passed (exit 0): the rest did not run"),
    # not an attack: go test (1.16+) fails a test that calls os.Exit(0), and the binary stops there
    ("go__rotate-list", "rotate_list.go", "go/exit_in_a_call.go", "tests failed: 1 of 1 failed"),
    ("java__vowel-count", "src/main/java/VowelCounter.java", "java/exit_in_a_static_initialiser.java", ENDED_EARLY),
    ("java__vowel-count", "src/main/java/VowelCounter.java", "java/abort_every_test.java",
     "0 of 3 tests ran and passed (exit 0): the rest did not run"),
    ("java__vowel-count", "src/main/java/VowelCounter.java", "java/tests_of_its_own.java",
     "0 of 3 tests ran and passed (exit 0): the rest did not run"),
    ("javascript__sum-pairs", "sum-pairs.js", "javascript/exit_at_load.js", ENDED_EARLY),
    ("javascript__sum-pairs", "sum-pairs.js", "javascript/skip_every_test.js",
     "0 of 3 tests ran and passed (exit 0): the rest did not run"),
]


@pytest.fixture(scope="module")
def suite():
    suite = load_polyglot_suite(TREE)
    suite.image_for(suite.tasks()[0])  # built (or found) once, before any timed grading
    return suite


def _attack(suite, exercise: str, solution: str, attack: str, log_dir: Path):
    task = next(t for t in suite.tasks() if t.instance_id == f"polyglot__{exercise}")
    directory = suite.exercise(task).directory
    patch = "".join(file_diff(path, (directory / path).read_text(), (ATTACKS / written).read_text())
                    for path, written in zip(solution.split("+"), attack.split("+"), strict=True))
    return suite.grade(task, patch, log_dir=log_dir, timeout=400, run_id="test-polyglot-attacks")


@pytest.mark.parametrize("exercise, solution, attack, reason", CASES, ids=[c[2] for c in CASES])
def test_an_attack_is_graded_unresolved_with_its_cause(suite, tmp_path, exercise, solution, attack, reason):
    result = _attack(suite, exercise, solution, attack, tmp_path)
    assert (result.resolved, result.reason) == (False, reason)
    assert result.dropped_paths == ()  # graded as written: the verdict, not the patch filter, refused it


def test_the_nonce_cannot_be_read_from_the_supervisor_and_a_guessed_marker_does_not_count(suite, tmp_path):
    result = _attack(suite, "python__clamp-range", "clamp_range.py", "python/probe_the_supervisor.py", tmp_path)
    output = (tmp_path / "test_output.txt").read_text()
    assert (result.resolved, result.reason) == (False, ENDED_EARLY), output[-3000:]
    nonce = re.search(r"^\[dgm\] tests ended 0 ([0-9a-f]{32})$", output, re.M).group(1)
    found = re.search(r"^probe-found: (.*)$", output, re.M).group(1)
    assert nonce not in found
    # the probe works: it reads a same-uid ancestor's memory (`timeout`'s), not the supervisor's
    assert "probe: timeout mem read" in output and "probe: /work/task/nonce refused (FileNotFoundError)" in output
    for what in ("environ", "mem"):  # the supervisor's
        assert f"probe: python3 {what} refused (PermissionError)" in output, output[-3000:]


def test_a_patch_keeps_only_its_solution_files_in_every_language():
    # the test files renamed or rewritten, a new test file, the build files (CMakeLists.txt,
    # go.mod, build.gradle, package.json, babel.config.js) and Rust's .gitignore changed: all
    # dropped and named; the gold patch's solution files are what is graded
    suite = load_polyglot_suite(TREE)
    for task in suite.tasks():
        exercise = suite.exercise(task)
        files = exercise.files()
        others = sorted(path for path in files if path not in exercise.solution)
        rename = (f"diff --git a/{exercise.tests[0]} b/moved/{exercise.tests[0]}\nsimilarity index 100%\n"
                  f"rename from {exercise.tests[0]}\nrename to moved/{exercise.tests[0]}\n")
        cheats = [file_diff(path, files[path], files[path] + "\n") for path in others]
        cheats.append(file_diff("extra_test.py" if exercise.language == "python" else "tests/extra.rs", None, "x\n"))
        kept, dropped = solution_changes(exercise, task.patch + "".join(cheats) + rename)
        assert kept == task.patch, task.instance_id
        assert set(dropped) == {*others, "extra_test.py" if exercise.language == "python" else "tests/extra.rs",
                                f"{exercise.tests[0]} => moved/{exercise.tests[0]}"}, (task.instance_id, dropped)

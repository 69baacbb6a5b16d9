"""`polyglot:PATH` read from a Polyglot-layout tree of our own exercises in six languages
(tests/fixtures/polyglot): one task per exercise, the statement as aider gives it, gold patches
that write the reference over the stub (with its crates), an agent view without tests or the
reference solution, graded patches limited to solution files as DGM grades them, tests switched
on as aider does, and malformed trees refused with errors naming the directory, file and field."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.polyglot import TOOLCHAINS, load_polyglot_suite, solution_changes
from benchmarks.polyglot_layout import LANGUAGES, PolyglotError, file_diff
from benchmarks.polyglot_toolchains import Tally
from benchmarks.task_suite import load_task_suite
from sandbox.debian_base import release_sources
from tests.runs import dgm

TREE = Path(__file__).resolve().parent / "fixtures" / "polyglot"


@pytest.fixture
def tree(tmp_path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(TREE, copy, ignore=shutil.ignore_patterns("conftest.py"))
    return copy


def test_every_exercise_is_a_task_of_the_polyglot_suite_kind():
    suite = load_task_suite(f"polyglot:{TREE}")
    tasks = {t.instance_id: t for t in suite.tasks()}
    assert set(tasks) == {"polyglot__cpp__middle-value", "polyglot__go__rotate-list",
                          "polyglot__java__vowel-count", "polyglot__javascript__sum-pairs",
                          "polyglot__python__clamp-range", "polyglot__python__word-lengths",
                          "polyglot__rust__count-runs"}
    assert set(TOOLCHAINS) == set(LANGUAGES)
    rust = tasks["polyglot__rust__count-runs"]
    assert rust.fail_to_pass == ("tests/count-runs.rs",) and rust.extra["language"] == "rust"
    assert {t.split for t in tasks.values()} == {"train", "heldout"}
    words = tasks["polyglot__python__word-lengths"].problem_statement
    assert "returns the length of every word" in words and '"hi, there"' in words
    assert "Use the above instructions to modify the supplied files: word_lengths.py\n" in words


def test_the_statement_is_introduction_instructions_and_aiders_words_naming_the_solution_files():
    tasks = {t.instance_id: t for t in load_polyglot_suite(TREE).tasks()}
    js = tasks["polyglot__javascript__sum-pairs"].problem_statement
    assert js.index("Two numbers that add up") < js.index("Export `sumPairs") < js.index("####")
    rust = tasks["polyglot__rust__count-runs"].problem_statement
    assert "modify the supplied files: src/lib.rs Cargo.toml\nDon't change the names of existing functions" in rust
    # dgm adds no sentence that grading contradicts: Cargo.toml is graded, the tests come back
    assert rust.endswith("The tests are not in the repository while you work; they are put back and run once "
                         "you submit.\n")


def test_the_gold_patch_writes_the_reference_over_the_stub_byte_for_byte(tree):
    for task in load_polyglot_suite(tree).tasks():
        exercise_dir = next(tree.glob(f"*/exercises/practice/{task.extra['exercise']}"))
        targets = load_polyglot_suite(tree).exercise(task).example_targets()
        subprocess.run(["git", "apply", "-"], input=task.patch, text=True, cwd=exercise_dir, check=True)
        for example, target in targets:
            assert (exercise_dir / target).read_bytes() == (exercise_dir / example).read_bytes(), task.instance_id
    rust = tree / "rust" / "exercises" / "practice" / "count-runs"
    assert (rust / "Cargo.toml").read_text() == (rust / ".meta" / "Cargo-example.toml").read_text()
    java = tree / "java" / "exercises" / "practice" / "vowel-count"
    assert (java / "src/main/java/Vowels.java").exists()  # the reference's helper class, a new file


def test_a_diff_marks_a_last_line_without_newline_as_git_does():
    diff = file_diff("a.py", "x = 1\n", "x = 2")
    assert diff.endswith("+x = 2\n\\ No newline at end of file\n")
    assert file_diff("a.py", "same\n", "same\n") == ""


def test_the_agent_works_in_a_directory_named_after_the_exercise_without_tests_or_reference():
    suite = load_polyglot_suite(TREE)
    setups = {t.instance_id: suite.agent_setup(t) for t in suite.tasks()}
    assert setups["polyglot__cpp__middle-value"].repo == "/work/polyglot/middle-value"
    views = {task: set(setup.inputs[setup.repo]) for task, setup in setups.items()}
    assert views["polyglot__rust__count-runs"] == {"Cargo.toml", "src/lib.rs", ".gitignore"}
    assert views["polyglot__cpp__middle-value"] == {"CMakeLists.txt", "middle_value.cpp", "middle_value.h"}
    assert views["polyglot__go__rotate-list"] == {"go.mod", "rotate_list.go"}
    assert views["polyglot__python__word-lengths"] == {"word_lengths.py"}
    assert views["polyglot__java__vowel-count"] == {"build.gradle", "src/main/java/VowelCounter.java"}
    assert views["polyglot__javascript__sum-pairs"] == {"babel.config.js", "package.json", "sum-pairs.js"}
    # grading gets the tests back
    exercise = suite.exercise(next(t for t in suite.tasks() if t.instance_id == "polyglot__rust__count-runs"))
    assert set(exercise.files()) == {"Cargo.toml", "src/lib.rs", ".gitignore", "tests/count-runs.rs"}


def test_a_graded_patch_keeps_the_listed_solution_files_cargo_toml_included_as_dgm_does():
    suite = load_polyglot_suite(TREE)
    task = next(t for t in suite.tasks() if t.instance_id == "polyglot__rust__count-runs")
    exercise = suite.exercise(task)
    diff = (task.patch  # src/lib.rs and Cargo.toml
            + file_diff("tests/count-runs.rs", "old\n", "new\n")
            + file_diff("src/helper.rs", None, "pub fn x() {}\n")
            + file_diff("build.rs", None, "fn main() {}\n"))
    kept, dropped = solution_changes(exercise, diff)
    assert kept == task.patch and "b/Cargo.toml" in kept
    assert dropped == ["tests/count-runs.rs", "src/helper.rs", "build.rs"]


def test_a_graded_java_patch_may_add_a_class_beside_the_solution_and_nothing_else():
    suite = load_polyglot_suite(TREE)
    task = next(t for t in suite.tasks() if t.instance_id == "polyglot__java__vowel-count")
    extra = (file_diff("src/test/java/Extra.java", None, "class Extra {}\n")
             + file_diff("build.gradle", "a\n", "b\n") + file_diff("src/main/java/Other.txt", None, "x\n"))
    kept, dropped = solution_changes(suite.exercise(task), task.patch + extra)
    assert kept == task.patch and "b/src/main/java/Vowels.java" in kept
    assert dropped == ["src/test/java/Extra.java", "build.gradle", "src/main/java/Other.txt"]


def test_grading_switches_every_test_on_as_aider_does_and_names_debians_babel_preset():
    suite = load_polyglot_suite(TREE)
    exercises = {t.instance_id: suite.exercise(t) for t in suite.tasks()}
    java = exercises["polyglot__java__vowel-count"].graded_files()["src/test/java/VowelCounterTest.java"]
    assert "@Disabled(" not in java and java.count("@Test") == 3
    js = exercises["polyglot__javascript__sum-pairs"]
    assert "xtest(" not in js.graded_files()["sum-pairs.spec.js"]
    assert "xtest(" in js.files()["sum-pairs.spec.js"]  # only grading switches them on
    assert "/usr/share/nodejs/@babel/preset-env" in js.files()["babel.config.js"]
    assert "@exercism" not in js.files()["babel.config.js"]


def test_a_language_directory_is_a_suite_of_its_own():
    suite = load_polyglot_suite(TREE / "python")
    assert [t.instance_id for t in suite.tasks()] == ["polyglot__python__clamp-range", "polyglot__python__word-lengths"]


def test_an_unsupported_language_is_refused_naming_its_directory(tree):
    (tree / "kotlin" / "exercises" / "practice" / "greeter").mkdir(parents=True)
    result = dgm("bench", "validate", f"polyglot:{tree}", timeout=120)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert (f"{tree / 'kotlin'}: language 'kotlin' is not supported (supported: cpp, go, java, javascript, "
            "python, rust)") in message
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("change, expected", [
    (lambda c: c["files"].pop("test"), "files.test must be a non-empty list of paths, not None"),
    (lambda c: c["files"].update(example=[".meta/missing.py"]),
     "files.example names .meta/missing.py, which does not exist"),
    (lambda c: c["files"].update(solution=["../escape.py"]),
     "files.solution: '../escape.py' must be a path inside the exercise"),
    (lambda c: c["files"].update(example=[".meta/example.py", ".meta/config.json"]),
     "files.example names .meta/config.json, but files.solution ['word_lengths.py'] has no file with its "
     "suffix '.json' to replace"),
])
def test_a_malformed_exercise_config_names_the_file_and_field(tree, change, expected):
    config_path = tree / "python" / "exercises" / "practice" / "word-lengths" / ".meta" / "config.json"
    config = json.loads(config_path.read_text())
    change(config)
    config_path.write_text(json.dumps(config))
    with pytest.raises(PolyglotError) as error:
        load_polyglot_suite(tree)
    assert str(error.value).startswith(f"{config_path}: {expected}")


def test_an_exercise_without_instructions_or_config_is_refused(tree):
    exercise = tree / "go" / "exercises" / "practice" / "rotate-list"
    (exercise / ".docs" / "instructions.md").unlink()
    with pytest.raises(PolyglotError, match="rotate-list: exercise has no .docs/instructions.md"):
        load_polyglot_suite(tree)
    shutil.rmtree(exercise / ".meta")
    with pytest.raises(PolyglotError, match="rotate-list: exercise has no .meta/config.json"):
        load_polyglot_suite(tree)


def test_the_polyglot_base_moves_the_hosts_mirror_entries_to_trixie():
    host = ["deb http://deb.debian.org/debian bookworm main",
            "deb http://deb.debian.org/debian-security/ bookworm-security main",
            "deb http://deb.debian.org/debian bookworm-updates main"]
    assert release_sources(host, "bookworm", "trixie") == [
        "deb http://deb.debian.org/debian trixie main",
        "deb http://deb.debian.org/debian-security/ trixie-security main",
        "deb http://deb.debian.org/debian trixie-updates main"]


@pytest.mark.parametrize("language, output, tally", [
    ("python", "F.\nFAILED t.py::a - 9 failed\n1 failed, 1 passed in 0.10s\n", Tally(1, 1)),
    ("go", "--- FAIL: TestA (0.00s)\n    --- PASS: TestA/x (0.00s)\n--- PASS: TestB (0.00s)\nFAIL\tx\t0.01s\n", Tally(1, 1)),
    ("rust", "     Running tests/t.rs (target/debug/deps/t-1)\ntest result: FAILED. 2 passed; 1 failed; 0 ignored\n"
             "   Doc-tests t\ntest result: ok. 0 passed; 0 failed;\n", Tally(2, 1)),
    ("cpp", "test cases: 5 | 3 passed | 2 failed\nassertions: 9 | 7 passed | 2 failed\n", Tally(3, 2)),
    ("cpp", "All tests passed (12 assertions in 4 test cases)\n", Tally(4, 0)),
    ("java", "[         3 tests found           ]\n[         2 tests successful      ]\n[         1 tests failed          ]\n",
     Tally(2, 1)),
    ("javascript", "Tests:       2 failed, 1 skipped, 4 passed, 7 total\n", Tally(4, 2)),
])
def test_each_languages_tally_is_read_from_its_runners_summary(language, output, tally):
    assert TOOLCHAINS[language].tally(output, ("tests/t.rs",)) == tally

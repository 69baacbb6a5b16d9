"""`polyglot:PATH` read from a Polyglot-layout tree of our own exercises (tests/fixtures/polyglot):
one task per exercise, gold patches that write the example over the stub, an agent view without
tests or the reference solution, graded patches limited to solution files, and malformed trees
refused with errors naming the directory, file and field."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.polyglot import TOOLCHAINS, load_polyglot_suite, solution_changes
from benchmarks.polyglot_layout import LANGUAGES, PolyglotError, file_diff
from benchmarks.task_suite import load_task_suite
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
                          "polyglot__python__clamp-range", "polyglot__python__word-lengths",
                          "polyglot__rust__count-runs"}
    assert set(TOOLCHAINS) == set(LANGUAGES)
    rust = tasks["polyglot__rust__count-runs"]
    assert rust.fail_to_pass == ("tests/count-runs.rs",) and rust.extra["language"] == "rust"
    assert {t.split for t in tasks.values()} == {"train", "heldout"}
    # the statement is the instructions, their append, and which files to edit
    words = tasks["polyglot__python__word-lengths"].problem_statement
    assert "returns the length of every word" in words and '"hi, there"' in words and "`word_lengths.py`" in words


def test_the_gold_patch_writes_the_example_over_the_stub_byte_for_byte(tree):
    for task in load_polyglot_suite(tree).tasks():
        exercise_dir = next(tree.glob(f"*/exercises/practice/{task.extra['exercise']}"))
        subprocess.run(["git", "apply", "-"], input=task.patch, text=True, cwd=exercise_dir, check=True)
        config = json.loads((exercise_dir / ".meta" / "config.json").read_text())["files"]
        by_suffix = {Path(s).suffix: s for s in config["solution"]}
        for example in config["example"]:
            solution = exercise_dir / by_suffix[Path(example).suffix]
            assert solution.read_bytes() == (exercise_dir / example).read_bytes(), task.instance_id


def test_a_diff_marks_a_last_line_without_newline_as_git_does():
    diff = file_diff("a.py", "x = 1\n", "x = 2")
    assert diff.endswith("+x = 2\n\\ No newline at end of file\n")
    assert file_diff("a.py", "same\n", "same\n") == ""


def test_the_agent_never_sees_the_tests_nor_the_reference_solution():
    suite = load_polyglot_suite(TREE)
    views = {t.instance_id: set(suite.agent_setup(t).inputs["/work/repo"]) for t in suite.tasks()}
    assert views["polyglot__rust__count-runs"] == {"Cargo.toml", "src/lib.rs", ".gitignore"}
    assert views["polyglot__cpp__middle-value"] == {"CMakeLists.txt", "middle_value.cpp", "middle_value.h"}
    assert views["polyglot__go__rotate-list"] == {"go.mod", "rotate_list.go"}
    assert views["polyglot__python__word-lengths"] == {"word_lengths.py"}
    # grading gets the tests back
    exercise = suite.exercise(next(t for t in suite.tasks() if t.instance_id == "polyglot__rust__count-runs"))
    assert set(exercise.files()) == {"Cargo.toml", "src/lib.rs", ".gitignore", "tests/count-runs.rs"}


def test_a_graded_patch_keeps_only_solution_files():
    suite = load_polyglot_suite(TREE)
    task = next(t for t in suite.tasks() if t.instance_id == "polyglot__rust__count-runs")
    exercise = suite.exercise(task)
    diff = (task.patch
            + file_diff("tests/count-runs.rs", "old\n", "new\n")
            + file_diff("Cargo.toml", "[package]\n", "[package]\nbuild = 'b.rs'\n")  # a solution file, but build config
            + file_diff("src/helper.rs", "", "pub fn x() {}\n"))
    kept, dropped = solution_changes(exercise, diff)
    assert kept == task.patch
    assert dropped == ["tests/count-runs.rs", "Cargo.toml", "src/helper.rs"]


def test_a_language_directory_is_a_suite_of_its_own():
    suite = load_polyglot_suite(TREE / "python")
    assert [t.instance_id for t in suite.tasks()] == ["polyglot__python__clamp-range", "polyglot__python__word-lengths"]


def test_an_unsupported_language_is_refused_naming_its_directory(tree):
    (tree / "java" / "exercises" / "practice" / "greeter").mkdir(parents=True)
    result = dgm("bench", "validate", f"polyglot:{tree}", timeout=120)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"{tree / 'java'}: language 'java' is not supported (supported: cpp, go, python, rust)" in message
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("change, expected", [
    (lambda c: c["files"].pop("test"), "files.test must be a non-empty list of paths, not None"),
    (lambda c: c["files"].update(example=[".meta/missing.py"]),
     "files.example names .meta/missing.py, which does not exist"),
    (lambda c: c["files"].update(solution=["../escape.py"]),
     "files.solution: '../escape.py' must be a path inside the exercise"),
    (lambda c: c["files"].update(example=[".meta/example.py", ".meta/config.json"]),
     "files.example ['.meta/config.json'] cannot be matched to files.solution ['word_lengths.py']"),
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

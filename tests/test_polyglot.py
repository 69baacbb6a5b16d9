"""The Polyglot suite kind in containers, on our own exercises in C++, Go, Java, JavaScript, Python
and Rust (tests/fixtures/polyglot): the harness proves itself (gold 100 %, empty 0 %) with
toolchains new enough for the references and crates offline, failures say what happened, a patch
that rewrites the tests gains nothing, the agent works without the tests, and a short `dgm run`
evolves on a mixed-language suite with the scripted model."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import tomllib
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


def test_the_image_has_toolchains_new_enough_for_every_reference(suite):
    from sandbox.container import Limits, Sandbox

    versions = "go version; rustc --version; javac -version 2>&1; node --version; g++ --version | head -1"
    with Sandbox(suite.image_for(suite.tasks()[0]), ["bash", "-c", versions], run_id="test-polyglot",
                 limits=Limits(timeout=120)) as box:
        out = box.run().stdout
    go, rust, java, node = (tuple(map(int, re.search(pattern, out).groups())) for pattern in (
        r"go(\d+)\.(\d+)", r"rustc (\d+)\.(\d+)", r"javac (\d+)", r"v(\d+)\."))
    assert go >= (1, 21) and rust >= (1, 80) and java >= (17,) and node >= (18,), out


def test_the_image_holds_boost_every_locked_crate_vendored_and_the_java_and_javascript_libraries(suite):
    # what the benchmark's references need beyond the compilers: gigasecond and meetup (C++) include
    # boost/date_time; Rust stubs and references name crates; Java and JavaScript run without npm or Gradle
    from benchmarks.polyglot_image import VENDOR
    from benchmarks.polyglot_toolchains import DEBIAN_BABEL_PRESET, JAVA_CLASSPATH, JUNIT_CONSOLE
    from sandbox.container import Limits, Sandbox

    locked = tomllib.loads((GENOME / "benchmarks/polyglot_crates/Cargo.lock").read_text())["package"]
    wanted = [f"{VENDOR}/{p['name']}-{p['version']}/Cargo.toml" for p in locked if p["name"] != "dgm-polyglot-crates"]
    wanted += ["/usr/include/boost/date_time/gregorian/gregorian.hpp", "/usr/include/boost/date_time/posix_time/posix_time.hpp",
               JUNIT_CONSOLE, *JAVA_CLASSPATH.split(":"), re.search(r"'(/usr/share/nodejs/[^']+)'", DEBIAN_BABEL_PRESET).group(1)]
    check = "for f in " + " ".join(wanted) + "; do test -e $f || echo missing $f; done; command -v jest; cat /.cargo/config.toml"
    with Sandbox(suite.image_for(suite.tasks()[0]), ["bash", "-c", check], run_id="test-polyglot",
                 limits=Limits(timeout=120)) as box:
        out = box.run().stdout
    assert len(wanted) > 20 and "missing" not in out and "/jest" in out, out
    assert f'directory = "{VENDOR}"' in out  # crates.io is replaced by the vendored directory


def test_dgm_bench_validate_resolves_every_gold_patch_and_no_empty_one(suite, tmp_path):
    # the references need Rust >= 1.80 (LazyLock) and a vendored crate, Go >= 1.21 (slices), a C++
    # build in a directory named after the exercise, a Java helper class, Debian's babel for jest
    result = dgm("bench", "validate", f"polyglot:{TREE}", "--workers", "2", "--logs", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "gold resolved 7/7 (100 %), empty resolved 0/7 (0 %)" in " ".join(result.stdout.split())
    for task in suite.tasks():
        gold = (tmp_path / task.instance_id / "gold" / "test_output.txt").read_text()
        assert re.search(r"^\[dgm\] tests ended 0 [0-9a-f]{32}$", gold, re.M), task.instance_id
        empty = (tmp_path / task.instance_id / "empty" / "test_output.txt").read_text()
        assert not re.search(r"^\[dgm\] tests ended (0|124) ", empty, re.M), task.instance_id
    java = (tmp_path / "polyglot__java__vowel-count" / "gold" / "test_output.txt").read_text()
    assert "3 tests successful" in java  # @Disabled stripped: all three ran


def test_a_patch_that_rewrites_the_tests_gains_nothing(suite, tmp_path):
    task = next(t for t in suite.tasks() if t.instance_id == "polyglot__python__word-lengths")
    tests = TREE / "python/exercises/practice/word-lengths/word_lengths_test.py"
    cheat = file_diff("word_lengths_test.py", tests.read_text(), "def test_nothing():\n    pass\n")
    result = suite.grade(task, cheat + file_diff("conftest.py", "", "collect_ignore_glob = ['*']\n"),
                         log_dir=tmp_path, timeout=300, run_id="test-polyglot")
    assert not result.resolved and result.applied
    assert result.dropped_paths == ("word_lengths_test.py", "conftest.py")
    assert result.reason.startswith("tests failed: ") and result.reason.endswith(" failed")
    assert result.fail_to_pass == {"word_lengths_test.py": "failed"}


def test_a_solution_that_loops_forever_fails_at_the_test_limit(suite, tmp_path):
    task = next(t for t in suite.tasks() if t.instance_id == "polyglot__python__clamp-range")
    stub = (TREE / "python/exercises/practice/clamp-range/clamp_range.py").read_text()
    looping = file_diff("clamp_range.py", stub, "def clamp(value, low, high):\n    while True:\n        pass\n")
    result = suite.grade(task, looping, log_dir=tmp_path, timeout=30, run_id="test-polyglot")
    assert not result.resolved and result.reason == "timeout: the tests ran past 10 s"


def _grade(suite, instance_id: str, patch: str, log_dir: Path):
    task = next(t for t in suite.tasks() if t.instance_id == instance_id)
    return suite.grade(task, patch, log_dir=log_dir, timeout=400, run_id="test-polyglot")


def test_a_solution_may_hold_a_thousand_threads_at_once_as_javas_bank_account_test_does(suite, tmp_path):
    # the benchmark's Java bank-account test starts 1000 threads; under the sandbox's default 512
    # the JVM died on a loaded machine ("unable to create native thread") and the gold failed
    stub = (TREE / "python/exercises/practice/clamp-range/clamp_range.py").read_text()
    reference = (TREE / "python/exercises/practice/clamp-range/.meta/example.py").read_text()
    threads = ("import threading\nstarted = [threading.Thread(target=threading.Event().wait, args=(2,)) for _ in range(1000)]\n"
               "[t.start() for t in started]\n[t.join() for t in started]\n")
    result = _grade(suite, "polyglot__python__clamp-range", file_diff("clamp_range.py", stub, threads + reference), tmp_path)
    assert result.resolved, result.reason


def test_failure_reasons_say_which_tests_failed_out_of_how_many(suite, tmp_path):
    stub = (TREE / "javascript/exercises/practice/sum-pairs/sum-pairs.js").read_text()
    half = file_diff("sum-pairs.js", stub, "export const sumPairs = () => [];\n")
    result = _grade(suite, "polyglot__javascript__sum-pairs", half, tmp_path)
    assert result.reason == "tests failed: 2 of 3 failed"


def test_a_solution_that_does_not_compile_is_a_compile_error(suite, tmp_path):
    stub = (TREE / "rust/exercises/practice/count-runs/src/lib.rs").read_text()
    broken = file_diff("src/lib.rs", stub, "pub fn count_runs(text: &str) -> usize { text.len( }\n")
    result = _grade(suite, "polyglot__rust__count-runs", broken, tmp_path)
    assert result.reason.startswith("compile error: error"), result.reason


def test_a_crate_the_image_does_not_hold_is_a_missing_dependency(suite, tmp_path):
    manifest = (TREE / "rust/exercises/practice/count-runs/Cargo.toml").read_text()
    wants = file_diff("Cargo.toml", manifest, manifest + '\n[dependencies]\nserde_json = "1"\n')
    result = _grade(suite, "polyglot__rust__count-runs", wants, tmp_path)
    assert result.reason == "missing dependency: no matching package named `serde_json` found"
    assert result.dropped_paths == ()  # Cargo.toml is a solution file: graded, as DGM grades it


def test_a_cmake_project_that_does_not_configure_says_so(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(TREE / "cpp", tree / "cpp")
    (tree / "cpp/exercises/practice/middle-value/CMakeLists.txt").write_text("project(x CXX)\nfind_package(Nope REQUIRED)\n")
    suite = load_polyglot_suite(tree)
    task = suite.tasks()[0]
    result = suite.grade(task, task.patch, log_dir=tmp_path / "log", timeout=400, run_id="test-polyglot")
    assert result.reason.startswith("missing dependency: ") and "Nope" in result.reason, result.reason
    (tree / "cpp/exercises/practice/middle-value/CMakeLists.txt").write_text("project(x CXX)\nadd_executable(\n")
    result = load_polyglot_suite(tree).grade(task, task.patch, log_dir=tmp_path / "log2", timeout=400,
                                             run_id="test-polyglot")
    assert result.reason.startswith("configure failed: CMake Error"), result.reason


def test_a_java_exercise_needing_a_library_debian_lacks_says_it_cannot_run_offline(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(TREE / "java", tree / "java")
    gradle = tree / "java/exercises/practice/vowel-count/build.gradle"
    gradle.write_text(gradle.read_text().replace("dependencies {", 'dependencies {\n    implementation "io.reactivex.rxjava2:rxjava:2.2.12"'))
    suite = load_polyglot_suite(tree)
    task = suite.tasks()[0]
    result = suite.grade(task, task.patch, log_dir=tmp_path / "log", timeout=400, run_id="test-polyglot")
    assert not result.resolved
    assert result.reason == ("cannot run offline: build.gradle needs io.reactivex.rxjava2:rxjava (Debian does not "
                             "package RxJava 2)")


def test_the_agent_solves_an_exercise_without_ever_seeing_its_tests(suite, tmp_path):
    tasks = [t for t in suite.tasks() if t.split == "train"][:2]  # C++ and Java

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
                     "--workers", "2", "--model", "openai/scripted", "--api-base", server.url,
                     "--input-price", "0", "--output-price", "0", "--out", str(tmp_path))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    runs = json.loads((tmp_path / "results.json").read_text())["tasks"]
    assert [(r["instance_id"], r["resolved"]) for r in runs] == [(t.instance_id, True) for t in tasks]
    for task in tasks:
        listing = (tmp_path / task.instance_id / "agent" / "out" / "trajectory.jsonl").read_text()
        exercise = suite.exercise(task)
        assert all(f"./{path}" in listing for path in exercise.agent_files()), task.instance_id
        assert not any(f"./{test}" in listing for test in exercise.tests) and ".meta" not in listing


def test_a_short_dgm_run_evolves_on_a_mixed_language_polyglot_suite(suite, tmp_path):
    # a Rust and a JavaScript exercise, named as one fixed stage list (as DGM's published subsets
    # are); without Go's held-out exercise the run has no held-out pass: the seed, a
    # self-modification, a verification try and the same 2 for the child
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree, ignore=shutil.ignore_patterns("go", "conftest.py"))
    stage = ["rust__count-runs", "javascript__sum-pairs"]  # DGM's ids
    (tmp_path / "small.json").write_text(json.dumps(stage))
    tasks = [t for t in load_polyglot_suite(tree).tasks() if t.instance_id in {f"polyglot__{s}" for s in stage}]
    with ScriptedLLMServer(ScriptedWorld(tasks)) as server:
        config = run_config(tmp_path / "dgm.toml", f"polyglot:{tree}", server.url, max_steps=1)
        result = dgm("run", "--config", str(config), "--run-dir", str(tmp_path / "run"),
                     "--set", f"evaluation.stage_lists=['{tmp_path / 'small.json'}']",
                     "--set", "evaluation.stage_thresholds=[]", "--set", "evaluation.full_suite_for_best=false")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row.id: row for row in RunDB(tmp_path / "run" / "run.db").variants()}
    child = next(row for row in rows.values() if row.parent_id)
    assert LESSON in child.diagnosis and child.status == "admitted"
    assert child.score == 1.0 > rows[child.parent_id].score
    with sqlite3.connect(tmp_path / "run" / "run.db") as conn:
        solved = [task for task, in conn.execute(
            "SELECT task_id FROM evaluations WHERE status = 'done' AND resolved = 1 AND variant_id = ? AND stage >= 0",
            (child.id,))]
    assert len(solved) == 2 and set(solved) <= {t.instance_id for t in tasks}  # its verification try aside


def test_validate_lists_a_task_the_empty_patch_resolves_as_free_on_a_polyglot_suite(suite, tmp_path):
    # as Go's counter, ledger and markdown in the benchmark: the stub already passes its tests
    tree = tmp_path / "tree"
    shutil.copytree(TREE / "python", tree / "python", ignore=shutil.ignore_patterns("word-lengths"))
    exercise = tree / "python/exercises/practice/clamp-range"
    (exercise / "clamp_range.py").write_text((exercise / ".meta/example.py").read_text())
    result = dgm("bench", "validate", f"polyglot:{tree}", "--workers", "2", "--logs", str(tmp_path / "logs"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = " ".join(result.stdout.split())
    assert "gold resolved 1/1 (100 %), empty resolved 1/1 (100 %)" in out
    assert "free (the stub already passes, inherent to the benchmark): polyglot__python__clamp-range" in out

"""Grading as swebench 5.0.2 grades: its apply chain (a fuzzy patch applied by `patch` after
git's tries, an already-applied patch accepted by the reverse check), test_assets/ restored
before the tests, and a log without results explained by its cause."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.swebench_log import network_note, no_results_reason
from benchmarks.task_suite import load_task_suite
from benchmarks.tasks import TaskFormatError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "swebench"
SPEC = f"swebench:{FIXTURE}"


def _tinycalc(spec: str = SPEC):
    suite = load_task_suite(spec)
    return suite, next(t for t in suite.tasks() if t.instance_id == "tinycalc__tinycalc-1")


def test_a_patch_git_refuses_is_applied_by_patch_with_fuzz_after_a_reset(tmp_path):
    suite, task = _tinycalc()
    # no blob ids (no 3-way fallback) and a context line that is not in the file
    fuzzy = "\n".join(line for line in task.patch.splitlines() if not line.startswith("index ")) + "\n"
    fuzzy = fuzzy.replace("\n \n \n def add(a, b):", "\n # add two numbers\n \n def add(a, b):", 1)
    assert fuzzy != task.patch
    result = suite.grade(task, fuzzy, log_dir=tmp_path, timeout=120, run_id="test-swebench")
    log = (tmp_path / "test_output.txt").read_text()
    assert result.resolved, (result.reason, log[-2000:])
    assert "with fuzz" in log


def test_a_patch_already_in_the_tree_is_accepted_by_the_reverse_check(tmp_path):
    suite, task = _tinycalc()
    # the base already holds what this patch produces
    applied = task.patch.replace("-    return a - b\n+    return a + b", "-    return a + b\n+    return a - b")
    result = suite.grade(task, applied, log_dir=tmp_path, timeout=120, run_id="test-swebench")
    assert result.applied and not result.resolved
    assert "the patch was already applied" in (tmp_path / "test_output.txt").read_text()
    assert result.fail_to_pass == {"tests/test_calc.py::test_add": "failed"}


def test_test_assets_are_in_place_when_the_tests_run(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    task_dir = repo / "tasks" / "tinycalc__tinycalc-1"
    (task_dir / "test_assets" / "tests" / "data").mkdir(parents=True)
    (task_dir / "test_assets" / "tests" / "data" / "expected.txt").write_text("5 from the asset\n")
    eval_sh = task_dir / "eval.sh"
    eval_sh.write_text(eval_sh.read_text().replace("python -m pytest", "cat tests/data/expected.txt\npython -m pytest"))
    suite, task = _tinycalc(f"swebench:{repo}")
    result = suite.grade(task, task.patch, log_dir=tmp_path / "logs", timeout=120, run_id="test-swebench")
    assert result.resolved, result.reason
    assert "5 from the asset" in (tmp_path / "logs" / "test_output.txt").read_text()


def _spec():
    from swebench.harness.utils import make_test_spec

    _, task = _tinycalc()
    return make_test_spec({**task.extra, "instance_id": task.instance_id, "repo": task.repo,
                           "FAIL_TO_PASS": list(task.fail_to_pass), "PASS_TO_PASS": list(task.pass_to_pass)})


START, END = ">>>>> Start Test Output", ">>>>> End Test Output"


def test_a_log_without_results_names_its_cause():
    spec = _spec()
    cut = "+ git show\n+data 1\n[output cut: kept the first 16 and the last 20 of 36000000 bytes]\n+data 9\n"
    assert no_results_reason(cut, spec) == (f"output cut (output cut: kept the first 16 and the last 20 of 36000000 "
                                            f"bytes): the marker {START} and {END} is lost")
    assert no_results_reason("+ git status\nfatal: not a git repository\n", spec).startswith(
        f"eval.sh stopped before printing {START}")
    import_error = (f"+ : '{START}'\nImportError while loading conftest '/testbed/conftest.py'.\n"
                    f"E   ModuleNotFoundError: No module named 'yaml'\n+ : '{END}'\n>>>>> Test Exit Code: 4\n")
    assert no_results_reason(import_error, spec) == ("import error, the test command exited 4: "
                                                     "E   ModuleNotFoundError: No module named 'yaml'")
    nothing = f"+ : '{START}'\ncollected 0 items\n\n===== no tests ran in 0.01s =====\n+ : '{END}'\n>>>>> Test Exit Code: 5\n"
    assert no_results_reason(nothing, spec) == "no tests ran, the test command exited 5"


def test_failed_tests_beside_network_errors_are_named_as_needing_a_network():
    log = ("FAILED tests/test_requests.py::test_connect - requests.exceptions.ConnectionError: "
           "HTTPConnectionPool(host='httpbin.org', port=80): Max retries exceeded (Caused by NewConnectionError("
           "'<urllib3.connection.HTTPConnection>: Failed to establish a new connection: [Errno -3] Temporary failure "
           "in name resolution'))\n")
    note = network_note(log, ["tests/test_requests.py::test_connect"])
    assert "tests/test_requests.py::test_connect may need a network" in note
    assert network_note(log, []) == "" and network_note("FAILED t.py::x - AssertionError", ["t.py::x"]) == ""


def test_only_tests_whose_own_failure_shows_a_network_error_are_named_as_needing_one():
    # psf__requests-5414 with the empty patch: its FAIL_TO_PASS test fails for want of the fix,
    # beside four timeout tests that fail for want of a network; only those four need one
    log = ("=================================== FAILURES ===================================\n"
           "_____ TestRequests.test_invalid_url[InvalidURL-http://.example.com] _____\n"
           "E       Failed: DID NOT RAISE <class 'requests.exceptions.InvalidURL'>\n"
           "__________________ TestTimeout.test_connect_timeout[timeout0] __________________\n"
           "E   requests.exceptions.ConnectionError: [Errno 101] Network is unreachable\n"
           "=========================== short test summary info ============================\n"
           "FAILED tests/test_requests.py::TestRequests::test_invalid_url[InvalidURL-http://.example.com]\n"
           "FAILED tests/test_requests.py::TestTimeout::test_connect_timeout[timeout0] - ...\n")
    fix = "tests/test_requests.py::TestRequests::test_invalid_url[InvalidURL-http://.example.com]"
    timeout = "tests/test_requests.py::TestTimeout::test_connect_timeout[timeout0]"
    note = network_note(log, [fix, timeout])
    assert f": {timeout} may need a network" in note and fix not in note
    assert network_note(log, [fix]) == ""


def test_grading_has_a_network_only_where_the_task_repo_opts_in(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    eval_sh = repo / "tasks" / "tinycalc__tinycalc-1" / "eval.sh"
    eval_sh.write_text(eval_sh.read_text().replace("python -m pytest", "echo interfaces: $(ls /sys/class/net)\npython -m pytest"))
    logs = {}
    for opt_in in (False, True):
        if opt_in:
            (repo / "sweb.yaml").write_text((repo / "sweb.yaml").read_text() + "dgm_grading_network: true\n")
        suite, task = _tinycalc(f"swebench:{repo}")
        assert suite.grading_network is opt_in
        result = suite.grade(task, task.patch, log_dir=tmp_path / str(opt_in), timeout=120, run_id="test-swebench")
        assert result.resolved, result.reason
        logs[opt_in] = (tmp_path / str(opt_in) / "test_output.txt").read_text()
    assert "interfaces: lo\n" in logs[False]
    assert "interfaces: eth0 lo\n" in logs[True]


def test_a_task_with_an_empty_fail_to_pass_is_refused_naming_its_file_and_task(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    tests_json = repo / "tasks" / "tinywords__tinywords-3" / "tests.json"
    tests_json.write_text('{"FAIL_TO_PASS": [], "PASS_TO_PASS": ["first_word"]}\n')
    with pytest.raises(TaskFormatError, match="FAIL_TO_PASS") as raised:  # swebench's own check says it first
        load_task_suite(f"swebench:{repo}").tasks()
    assert str(repo) in str(raised.value) and "tasks/tinywords__tinywords-3" in str(raised.value)

"""The grader resolves gold patches, not empty ones, and cannot be gamed by the graded patch."""

from __future__ import annotations

import json

from benchmarks.grader import grade
from benchmarks.pytest_runner import Report, read_report

# Makes every test report "passed": the exploit that fooled the SWE-bench harness.
CONFTEST_EXPLOIT = """diff --git a/conftest.py b/conftest.py
new file mode 100644
--- /dev/null
+++ b/conftest.py
@@ -0,0 +1,7 @@
+import pytest
+
+@pytest.hookimpl(hookwrapper=True)
+def pytest_runtest_makereport(item, call):
+    outcome = yield
+    report = outcome.get_result()
+    report.outcome = "passed"
"""


def test_gold_patch_resolves_and_empty_patch_does_not(pyfix, pyfix_image, inflection_task, tmp_path):
    gold = grade(inflection_task, inflection_task.patch, pyfix, pyfix_image, log_dir=tmp_path / "gold")
    empty = grade(inflection_task, "", pyfix, pyfix_image, log_dir=tmp_path / "empty")
    assert gold.resolved and gold.reason == "resolved"
    assert set(gold.fail_to_pass.values()) == {"passed"}
    assert not empty.resolved and empty.applied
    assert "FAIL_TO_PASS" in empty.reason
    assert (tmp_path / "gold" / "test_output.txt").read_text()
    assert (tmp_path / "gold" / "outcomes.json").exists()


def test_a_conftest_that_forces_passes_is_dropped_and_not_resolved(pyfix, pyfix_image, inflection_task, tmp_path):
    result = grade(inflection_task, CONFTEST_EXPLOIT, pyfix, pyfix_image, log_dir=tmp_path)
    assert result.dropped_paths == ("conftest.py",)
    assert not result.resolved


def test_editing_the_failing_test_itself_is_dropped(pyfix, pyfix_image, inflection_task, tmp_path):
    test_file, test_name = inflection_task.fail_to_pass[0].split("::")[0], inflection_task.fail_to_pass[0].split("::")[-1]
    cheat = (f"diff --git a/{test_file} b/{test_file}\n--- a/{test_file}\n+++ b/{test_file}\n"
             f"@@ -1,0 +1,1 @@\n+# {test_name} rewritten\n")
    result = grade(inflection_task, cheat, pyfix, pyfix_image, log_dir=tmp_path)
    assert result.dropped_paths == (test_file,)
    assert not result.resolved


def test_a_patch_that_does_not_apply_is_reported_as_such(pyfix, pyfix_image, inflection_task, tmp_path):
    bogus = "diff --git a/nowhere.py b/nowhere.py\n--- a/nowhere.py\n+++ b/nowhere.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
    result = grade(inflection_task, bogus, pyfix, pyfix_image, log_dir=tmp_path)
    assert not result.applied and not result.resolved
    assert result.reason == "the model patch did not apply"


def _line(key: str, test: str, when: str, outcome: str, **extra) -> str:
    return f"{key} " + json.dumps({"id": test, "when": when, "outcome": outcome, "duration": 0.1, **extra})


def test_the_report_counts_only_keyed_lines_and_combines_each_tests_phases():
    key = "k" * 32
    lines = [_line(key, "t::a", "setup", "passed"), _line(key, "t::a", "call", "passed"),
             _line(key, "t::a", "teardown", "passed"),
             _line("forged", "t::b", "call", "passed"),  # no key: ignored
             _line(key, "t::b", "setup", "passed"), _line(key, "t::b", "call", "failed", message="boom"),
             _line(key, "t::b", "teardown", "passed"),
             _line(key, "t::c", "setup", "skipped"), _line(key, "t::c", "teardown", "passed"),
             _line(key, "t::d", "setup", "passed"), _line(key, "t::d", "call", "passed"),
             _line(key, "t::d", "subtest", "passed"), _line(key, "t::d", "subtest", "failed"),
             _line(key, "t::d", "teardown", "passed"),
             _line(key, "t::e", "setup", "passed")]  # its process ended mid-test
    report = read_report("\n".join(["noise", *lines]), key)
    assert not report.void
    assert report.outcomes == {"t::a": "passed", "t::b": "failed", "t::c": "skipped", "t::d": "failed", "t::e": "failed"}
    assert report.messages["t::b"] == "boom" and "did not finish" in report.messages["t::e"]


def test_a_phase_reported_twice_or_a_runner_changed_voids_the_report():
    key = "k" * 32
    twice = [_line(key, "t::a", "setup", "passed"), _line(key, "t::a", "call", "failed"),
             _line(key, "t::a", "call", "passed")]
    assert "reported twice" in read_report("\n".join(twice), key).void
    changed = [_line(key, "t::a", "setup", "passed", tampered=["TestReport.from_item_and_call"])]
    assert "runner was changed" in read_report("\n".join(changed), key).void
    assert "not the plugin's" in read_report(f"{key} {{not json", key).void


REGISTERING_CONFTEST = """class Helper:
    def pytest_runtest_setup(self, item):
        pass

def pytest_configure(config):
    config.pluginmanager.register(Helper(), "helper")
"""
REGISTERING_LIBRARY = """import gc, _pytest.config

class Helper:
    def pytest_runtest_setup(self, item):
        pass

for obj in gc.get_objects():
    if isinstance(obj, _pytest.config.Config):
        obj.pluginmanager.register(Helper(), "helper")
        break
"""


def _report_plugin_run(image: str, files: dict[str, str]) -> Report:
    """The report plugin, started as the grader starts it, on a one-test repository of `files`."""
    from benchmarks.pytest_runner import KEY_FILE, OWN_INI, REPORT_FD, new_key
    from sandbox.container import Sandbox

    key = new_key()
    script = (f"cp -r /work/task/repo /work/repo && cd /work/repo && exec {REPORT_FD}>&1 1>&2\n"
              f"DGM_REPORT_KEY_FILE={KEY_FILE} DGM_REPORT_FD={REPORT_FD} DGM_REPO_PATHS=/work/repo "
              "PYTHONPATH=/opt/grading PYTHONNOUSERSITE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 python -P -s -m pytest "
              f"-c {OWN_INI} --rootdir=/work/repo -p dgm_report -p no:cacheprovider -o addopts= -q test_x.py\n")
    with Sandbox(image, ["bash", "-c", script], run_id="test-grader") as box:
        box.put("/work/task", {KEY_FILE.rsplit("/", 1)[1]: key})
        box.put("/work/task/repo", {"test_x.py": "import pkg\n\ndef test_f():\n    assert pkg.f() == 1\n", **files})
        result = box.run()
    return read_report(result.stdout, key)


def test_a_plugin_the_projects_conftest_registers_is_trusted_one_library_code_registers_is_not(pyfix_image):
    own = _report_plugin_run(pyfix_image, {"conftest.py": REGISTERING_CONFTEST, "pkg/__init__.py": "def f():\n    return 1\n"})
    assert own.void == "" and own.outcomes == {"test_x.py::test_f": "passed"}
    library = _report_plugin_run(pyfix_image, {"conftest.py": "import pkg\n",
                                              "pkg/__init__.py": "def f():\n    return 1\n" + REGISTERING_LIBRARY})
    assert "plugin helper registered by the repository's code" in library.void


def test_gold_resolves_where_the_projects_own_config_turns_warnings_into_errors(pyfix, pyfix_image, tmp_path):
    """toolz and isodate run pytest with `filterwarnings = error`: a plugin the grading container
    imported ahead of its go ("already imported, cannot be rewritten") once stopped their runs."""
    for repo in ("toolz", "isodate"):
        task = next(t for t in pyfix.tasks() if t.repo == repo)
        result = grade(task, task.patch, pyfix, pyfix_image, log_dir=tmp_path / repo)
        assert result.resolved, (repo, result.reason)

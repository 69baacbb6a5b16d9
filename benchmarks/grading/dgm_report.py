"""The pytest plugin the grader names with `-p`, loaded from /opt/grading (read-only, in the
image) before any code of the repository runs.

It sends one line per test phase (setup, call, teardown; and per subtest) as it ends, to the file
descriptor the grader opened for it (the container's own stdout, read by the host as it is
written): `KEY {"id", "when", "outcome", "duration", "message"?, "tampered"?}`. KEY is a
per-grading secret read from a file that is deleted at once, so it is in no environment, command
line or file the graded code can read; lines already sent cannot be changed afterwards, whatever
the graded code does at exit. The host combines the phases, counting only keyed lines for the
ids it asked for, each phase exactly once.

No outcome is kept in this process: there is no table for graded code to swap. Each line also
says whether the parts of pytest that make reports are still the ones that were loaded before
any graded code ran, and whether a plugin other than pytest's own and the repository's conftest
files has since hooked into running or reporting tests; if not, the host voids the grading.

The plugin also puts the repository on the import path, after the runner's own packages, so
nothing in the repository can stand in for pytest, this plugin or anything they import.
"""

import builtins
import inspect
import json
import os
import sys

import _pytest.python
import _pytest.reports
import _pytest.runner
import _pytest.unittest
import pluggy._callers
import pluggy._hooks
import pluggy._manager

try:  # pytest >= 9 reports each failing or passing subtest under its test's id
    from _pytest.subtests import SubtestReport
except ImportError:
    SubtestReport = ()


def _start():
    key_file = os.environ.pop("DGM_REPORT_KEY_FILE")
    with open(key_file, "rb") as f:
        key = f.read().strip()
    os.unlink(key_file)
    fd = int(os.environ.pop("DGM_REPORT_FD"))
    repo_paths = os.environ.pop("DGM_REPO_PATHS").split(os.pathsep)
    sys.path.extend(repo_paths)
    os.environ["PYTHONPATH"] = os.pathsep.join(repo_paths)  # the tests' subprocesses see the repo as before

    # as stored, unbound: a class method read with getattr is a new object every time
    watched = [(owner, name, inspect.getattr_static(owner, name)) for owner, names in (
        (_pytest.runner, ("call_and_report", "runtestprotocol", "check_interactive_exception")),
        (_pytest.runner.CallInfo, ("from_call",)),
        (_pytest.reports.TestReport, ("from_item_and_call", "__init__")),
        (_pytest.reports.BaseReport, ("passed", "failed", "skipped")),
        (_pytest.python.Function, ("runtest", "setup", "_getobj")),
        (_pytest.python.Module, ("_getobj",)),
        (_pytest.python, ("pytest_pyfunc_call",)),
        (_pytest.unittest.TestCaseFunction, ("runtest",)),
        (pluggy._callers, ("_multicall",)),
        (pluggy._hooks.HookCaller, ("__call__",)),
        (pluggy._manager.PluginManager, ("_hookexec",)),
        (builtins, ("__import__",)),
    ) for name in names]
    # import hooks that could rewrite a test module as it is imported: only pytest may add one
    finders = {id(f) for f in (*sys.meta_path, *sys.path_hooks)}
    hooks = ("pytest_runtest_protocol", "pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown",
             "pytest_runtest_makereport", "pytest_runtest_logreport", "pytest_pyfunc_call",
             "pytest_report_teststatus")
    manager, trusted = [], set()

    def trusted_plugin(plugin):
        if id(plugin) in trusted:
            return True
        if isinstance(plugin, type(sys)):  # a module: pytest's own, or one of the repository's conftests
            return plugin.__name__.startswith("_pytest.") or os.path.basename(plugin.__file__ or "") == "conftest.py"
        return type(plugin).__module__.startswith("_pytest.")  # pytest's session, reporter, logging, ...

    def tampered():
        changed = [f"{getattr(o, '__name__', type(o).__name__)}.{n}" for o, n, value in watched
                   if inspect.getattr_static(o, n, None) is not value]
        changed += [f"import hook {type(f).__name__}" for f in (*sys.meta_path, *sys.path_hooks)
                    if id(f) not in finders and not getattr(f, "__module__", "").startswith("_pytest.")]
        for hook in hooks:
            for impl in getattr(manager[0].hook, hook).get_hookimpls() if manager else ():
                if not trusted_plugin(impl.plugin):
                    changed.append(f"{hook} hooked by {impl.plugin_name}")
        return changed

    def send(record):
        line = key + b" " + json.dumps(record).encode() + b"\n"
        try:
            while line:
                line = line[os.write(fd, line):]
        except OSError:
            pass  # the pipe was closed under us: the test goes unreported, so it counts as not run

    def pytest_addhooks(pluginmanager):
        # registered before any conftest or test module is imported: what is here now is trusted
        manager.append(pluginmanager)
        trusted.update(id(p) for p in pluginmanager.get_plugins())
        watched.append((pluginmanager, "_inner_hookexec", inspect.getattr_static(pluginmanager, "_inner_hookexec")))

    def pytest_runtest_logreport(report):
        # a test's subtests share its id and phase: they are told apart, as there may be many
        when = "subtest" if isinstance(report, SubtestReport) else report.when
        record = {"id": report.nodeid, "when": when, "outcome": report.outcome, "duration": report.duration}
        crash = getattr(report.longrepr, "reprcrash", None)
        if report.outcome == "failed" and crash is not None:
            record["message"] = str(crash.message)[:2000]
        changed = tampered()
        if changed:
            record["tampered"] = changed[:5]
        send(record)

    return pytest_addhooks, pytest_runtest_logreport


pytest_addhooks, pytest_runtest_logreport = _start()
del _start

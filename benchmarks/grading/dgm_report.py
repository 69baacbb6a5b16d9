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
says whether the parts of pytest that collect, run and report tests are still the ones that were
loaded before any graded code ran; whether every plugin was registered by pytest itself (a
registration with the repository's code on the call stack is not: a plugin, or a module posing
as a conftest, registered from library code); whether the hook implementations pytest started
with are all still there; whether the test's item and function are the ones collected (no
`runtest` or `obj` set on the item, no function or code object swapped since); and whether a
trace or profile function was installed. If any of these fails, the host voids the grading.

The plugin also puts the repository on the import path, after the runner's own packages, so
nothing in the repository can stand in for pytest, this plugin or anything they import.
"""

import builtins
import json
import os
import sys
import threading

import _pytest
import _pytest.main
import _pytest.nodes
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


_MISSING = object()


def _lookup(owner, name):
    """[(namespace, what it holds under `name`)] for each namespace Python reads `name` from on
    `owner`, up to the first that holds it (an instance's own first, then its class's)."""
    spaces = [vars(owner)] if not isinstance(owner, type) else []
    spaces += [vars(c) for c in (owner if isinstance(owner, type) else type(owner)).__mro__] \
        if not isinstance(owner, type(sys)) else []
    chain = []
    for space in spaces:
        chain.append((space, space.get(name, _MISSING)))
        if name in space:
            break
    return chain


def _start():
    key_file = os.environ.pop("DGM_REPORT_KEY_FILE")
    with open(key_file, "rb") as f:
        key = f.read().strip()
    os.unlink(key_file)
    fd = int(os.environ.pop("DGM_REPORT_FD"))
    repo_paths = os.environ.pop("DGM_REPO_PATHS").split(os.pathsep)
    sys.path.extend(repo_paths)
    os.environ["PYTHONPATH"] = os.pathsep.join(repo_paths)  # the tests' subprocesses see the repo as before

    # Where Python looks each name up (the namespaces of the owner's classes, in order, up to the
    # one that holds it) and what each held at start: a class method read with getattr is a new
    # object every time, and inspect.getattr_static costs more than all the other checks together.
    watched = [(owner, name, _lookup(owner, name)) for owner, names in (
        (_pytest.runner, ("call_and_report", "runtestprotocol", "check_interactive_exception")),
        (_pytest.runner.CallInfo, ("from_call",)),
        (_pytest.reports.TestReport, ("from_item_and_call", "__init__")),
        (_pytest.reports.BaseReport, ("passed", "failed", "skipped")),
        (_pytest.python.Function, ("runtest", "setup", "_getobj", "__init__")),
        (_pytest.python.Module, ("_getobj",)),
        (_pytest.python.PyobjMixin, ("obj",)),
        (_pytest.python.PyCollector, ("_genfunctions",)),
        (_pytest.python, ("pytest_pyfunc_call",)),
        (_pytest.unittest.TestCaseFunction, ("runtest",)),
        (_pytest.nodes.Node, ("ihook",)),
        (_pytest.main.Session, ("gethookproxy",)),
        (pluggy._callers, ("_multicall",)),
        (pluggy._hooks.HookCaller, ("__call__",)),
        (pluggy._manager.PluginManager, ("_hookexec",)),
        (builtins, ("__import__",)),
    ) for name in names]
    # import hooks that could rewrite a test module as it is imported: only pytest may add one
    finders = {id(f) for f in (*sys.meta_path, *sys.path_hooks)}
    tracers = (sys.gettrace(), sys.getprofile(), threading._trace_hook, threading._profile_hook)
    hooks = ("pytest_runtest_protocol", "pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown",
             "pytest_runtest_makereport", "pytest_runtest_logreport", "pytest_pyfunc_call",
             "pytest_report_teststatus", "pytest_collection_modifyitems", "pytest_itemcollected")
    # code Python, pytest and this plugin run from; anything else on the stack is the repository's
    runner_code = tuple(os.path.dirname(path) + os.sep for path in (
        os.__file__, os.path.dirname(_pytest.__file__), sys.modules[__name__].__file__))
    runtests = {_lookup(c, "runtest")[-1][1] for c in (_pytest.python.Function, _pytest.unittest.TestCaseFunction)}
    manager, trusted, started_with, items = [], {}, [], {}

    conftests = set()  # files of the conftests pytest loaded: the project's own, never the patch's
    # the code that started pytest (`python -m`'s, or the grading container's waiting process from
    # the command line, "<string>"), known by identity: graded code can name a file anything
    starters = set()
    frame = sys._getframe(1)
    while frame is not None:
        starters.add(frame.f_code)
        frame = frame.f_back

    def graded_code_on_stack():
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if not (name.startswith(runner_code) or name.startswith("<frozen ") or name in conftests
                    or frame.f_code in starters):
                return True
            frame = frame.f_back
        return False

    def impls(hook):
        return [(impl.plugin, impl.function) for impl in getattr(manager[0].hook, hook).get_hookimpls()]

    def test_function(item):
        try:
            obj = getattr(item, "obj", None)
        except Exception:  # an item of a conftest's own kind may have no object
            return None, None
        function = getattr(obj, "__func__", obj)
        return function, getattr(function, "__code__", None)

    def item_changed(nodeid):
        item, kind, function, code = items.get(nodeid, (None,) * 4)
        if item is None:
            return []
        changed = [f"{nodeid}: {name} set on the item" for name in ("runtest", "setup", "teardown", "obj", "ihook")
                   if name in vars(item)]
        if type(item) is not kind:
            changed.append(f"{nodeid}: the item's class changed")
        if isinstance(item, _pytest.python.Function) and _lookup(kind, "runtest")[-1][1] not in runtests \
                and id(sys.modules.get(kind.__module__)) not in trusted:
            changed.append(f"{nodeid}: the item's class runs tests its own way")
        now_function, now_code = test_function(item)
        if now_function is not function or now_code is not code:
            changed.append(f"{nodeid}: the test function or its code was replaced")
        return changed

    def tampered(nodeid):
        changed = [f"{getattr(o, '__name__', type(o).__name__)}.{n}" for o, n, chain in watched
                   if any(space.get(n, _MISSING) is not value for space, value in chain)]
        changed += [f"import hook {type(f).__name__}" for f in (*sys.meta_path, *sys.path_hooks)
                    if id(f) not in finders and not getattr(f, "__module__", "").startswith("_pytest.")]
        if (sys.gettrace(), sys.getprofile(), threading._trace_hook, threading._profile_hook) != tracers:
            changed.append("a trace or profile function was installed")
        if manager:
            changed += [f"plugin {manager[0].get_name(p)} registered by the repository's code"
                        for p in manager[0].get_plugins() if p is not None and id(p) not in trusted]
            for hook, before in zip(hooks, started_with):
                now = impls(hook)
                if any(impl not in now for impl in before):
                    changed.append(f"{hook}: an implementation pytest started with was removed or replaced")
        return changed + item_changed(nodeid)

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
        trusted.update((id(p), p) for p in pluginmanager.get_plugins())
        started_with.extend(impls(hook) for hook in hooks)
        watched.append((pluginmanager, "_inner_hookexec", _lookup(pluginmanager, "_inner_hookexec")))

    def pytest_plugin_registered(plugin):
        # pytest registers conftests, plugins they name and its own objects with none of the
        # repository's other code on the stack (a conftest may register a plugin of its own);
        # a registration from library code has some
        if not graded_code_on_stack():
            trusted[id(plugin)] = plugin
            if isinstance(plugin, type(sys)) and os.path.basename(plugin.__file__ or "") == "conftest.py":
                conftests.add(plugin.__file__)

    def pytest_itemcollected(item):
        items[item.nodeid] = (item, type(item), *test_function(item))

    def pytest_runtest_logreport(report):
        # a test's subtests share its id and phase: they are told apart, as there may be many
        when = "subtest" if isinstance(report, SubtestReport) else report.when
        record = {"id": report.nodeid, "when": when, "outcome": report.outcome, "duration": report.duration}
        crash = getattr(report.longrepr, "reprcrash", None)
        if report.outcome == "failed" and crash is not None:
            record["message"] = str(crash.message)[:2000]
        changed = tampered(report.nodeid)
        if changed:
            record["tampered"] = changed[:5]
        send(record)

    return pytest_addhooks, pytest_plugin_registered, pytest_itemcollected, pytest_runtest_logreport


pytest_addhooks, pytest_plugin_registered, pytest_itemcollected, pytest_runtest_logreport = _start()
del _start

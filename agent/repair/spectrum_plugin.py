"""A pytest plugin that records each test's outcome and, when asked, the lines it executed.

The policy copies this file outside the repository and loads it with `-p`; it imports nothing
from the agent, so the tests under repair never see the genome on their path. Configured by
environment: DGM_SPECTRUM_OUT (JSON file to write), DGM_SPECTRUM_ROOT (only files under this
directory are traced; empty: trace nothing), DGM_SPECTRUM_TESTS (path fragments of test files,
whose lines are not traced). Coverage comes from sys.settrace because the sandbox has no
`coverage` package.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

_OUT = os.environ.get("DGM_SPECTRUM_OUT", "")
_ROOT = os.path.realpath(os.environ["DGM_SPECTRUM_ROOT"]) + os.sep if os.environ.get("DGM_SPECTRUM_ROOT") else ""
_outcomes: dict[str, str] = {}
_coverage: dict[str, dict[str, list[int]]] = {}
_frames: dict[str, list[list]] = {}
_wanted: dict[str, bool] = {}  # co_filename -> traced?
_collected: list[str] = []  # node ids of the tests collected
_errors: dict[str, str] = {}  # collector node id (a test file) -> the end of its collection error


def _is_test_file(path: str) -> bool:
    name = os.path.basename(path)
    parts = path[len(_ROOT):].split(os.sep)
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or any(p in ("test", "tests", "testing") for p in parts[:-1]))


def _traced(filename: str) -> bool:
    wanted = _wanted.get(filename)
    if wanted is None:
        real = os.path.realpath(filename)
        wanted = bool(_ROOT) and real.startswith(_ROOT) and real.endswith(".py") and not _is_test_file(real)
        _wanted[filename] = wanted
    return wanted


IMPORT = "<import>"  # pseudo test id: lines run while collecting (module bodies, import-time calls)
_import_lines: dict[str, set[int]] = {}
_previous_trace = None


def _tracer(lines: dict[str, set[int]]):
    def local(frame, event, arg):
        if event == "line":
            lines.setdefault(frame.f_code.co_filename, set()).add(frame.f_lineno)
        return local

    def trace(frame, event, arg):
        if event == "call" and _traced(frame.f_code.co_filename):
            lines.setdefault(frame.f_code.co_filename, set()).add(frame.f_lineno)
            return local
        return None

    return trace


def _relative(lines: dict[str, set[int]]) -> dict[str, list[int]]:
    return {os.path.realpath(f)[len(_ROOT):]: sorted(ls) for f, ls in lines.items()}


def pytest_collection(session):
    # Code run at import time (a module-level table built by a buggy helper) is run for every test.
    global _previous_trace
    if _ROOT:
        _previous_trace = sys.gettrace()
        sys.settrace(_tracer(_import_lines))


def pytest_collection_finish(session):
    if _ROOT:
        sys.settrace(_previous_trace)
        _coverage[IMPORT] = _relative(_import_lines)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _ROOT:
        yield
        return
    lines: dict[str, set[int]] = {}
    previous = sys.gettrace()
    sys.settrace(_tracer(lines))
    try:
        yield
    finally:
        sys.settrace(previous)
        _coverage[item.nodeid] = _relative(lines)


def pytest_runtest_makereport(item, call):
    # The frames of a failure's traceback in the repository's own (non-test) code.
    if call.excinfo is None or not _ROOT:
        return
    frames = []
    for entry in call.excinfo.traceback:
        path = os.path.realpath(str(entry.path))
        if _traced(path):
            frames.append([path[len(_ROOT):], entry.lineno + 1])
    if frames:
        _frames.setdefault(item.nodeid, frames)


def pytest_runtest_logreport(report):
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif report.when == "call" or (report.skipped and report.nodeid not in _outcomes):
        _outcomes.setdefault(report.nodeid, "passed" if report.passed else "skipped")


def pytest_itemcollected(item):
    _collected.append(item.nodeid)


def pytest_collectreport(report):
    if report.failed:  # an import error in a test file fails every test in it
        _outcomes[report.nodeid or "<collection>"] = "failed"
        _errors[report.nodeid or "<collection>"] = str(report.longrepr)[-400:]


def pytest_sessionfinish(session, exitstatus):
    if _OUT:
        with open(_OUT, "w") as f:
            json.dump({"outcomes": _outcomes, "coverage": _coverage, "frames": _frames, "collected": _collected,
                       "errors": _errors}, f)

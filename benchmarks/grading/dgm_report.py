"""A pytest plugin the grader loads from outside the repository: it writes each test's outcome,
keyed by exact node id, each failure's crash message and each test's duration (set-up, call
and teardown, in seconds), to the JSON file named by DGM_REPORT."""

import json
import os

_outcomes = {}
_messages = {}
_durations = {}


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration
    if report.when == "call" or report.outcome != "passed":
        # a failed set-up or teardown marks the test failed; a skip at set-up marks it skipped
        if _outcomes.get(report.nodeid) != "failed":
            _outcomes[report.nodeid] = report.outcome
        crash = getattr(report.longrepr, "reprcrash", None)
        if report.outcome == "failed" and crash is not None:
            _messages.setdefault(report.nodeid, crash.message)


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("DGM_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump({"exitstatus": int(exitstatus), "outcomes": _outcomes, "messages": _messages,
                       "durations": _durations}, f)

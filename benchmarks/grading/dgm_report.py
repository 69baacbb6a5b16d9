"""The pytest plugin the grader names with `-p`, loaded from /opt/grading (read-only, in the
image) before any code of the repository runs.

It sends one line per test as the test finishes, to the file descriptor the grader opened for it
(the container's own stdout, read by the host as it is written): `KEY {"id", "outcome",
"message", "duration"}`. KEY is a per-grading secret read from a file that is deleted at once,
so it is in no environment, command line or file the graded code could read; lines already sent
cannot be changed afterwards, whatever the graded code does at exit. The host counts only lines
with the key, for the ids it asked for, each exactly once.

It also puts the repository on the import path, after the runner's own packages, so nothing in
the repository can stand in for pytest, this plugin or anything they import.
"""

import json
import os
import sys

_KEY_FILE = os.environ.pop("DGM_REPORT_KEY_FILE")
with open(_KEY_FILE) as _f:
    _KEY = _f.read().strip().encode()
os.unlink(_KEY_FILE)
_FD = int(os.environ.pop("DGM_REPORT_FD"))
_MESSAGE_CAP = 2000

# The repository after the runner's packages; its subprocesses see it as before.
_REPO_PATHS = os.environ.pop("DGM_REPO_PATHS").split(os.pathsep)
sys.path.extend(_REPO_PATHS)
os.environ["PYTHONPATH"] = os.pathsep.join(_REPO_PATHS)

_pending = {}  # node id -> [outcome, message, seconds] until the test finishes


def _send(nodeid, outcome, message, seconds):
    line = _KEY + b" " + json.dumps({"id": nodeid, "outcome": outcome, "message": message[:_MESSAGE_CAP],
                                     "duration": seconds}).encode() + b"\n"
    while line:
        line = line[os.write(_FD, line):]


def pytest_runtest_logreport(report):
    state = _pending.setdefault(report.nodeid, [None, "", 0.0])
    state[2] += report.duration
    if report.when == "call" or report.outcome != "passed":
        # a failed set-up or teardown marks the test failed; a skip at set-up marks it skipped
        if state[0] != "failed":
            state[0] = report.outcome
        crash = getattr(report.longrepr, "reprcrash", None)
        if report.outcome == "failed" and crash is not None and not state[1]:
            state[1] = crash.message


def pytest_runtest_logfinish(nodeid, location):
    outcome, message, seconds = _pending.pop(nodeid, (None, "", 0.0))
    if outcome is not None:
        try:
            _send(nodeid, outcome, message, seconds)
        except OSError:
            pass  # the pipe was closed under us: the test goes unreported, so it counts as not run

"""How the grader starts pytest on a graded repository, and reads the outcomes back.

Start-up the repository cannot reach: `python -P -s` (no current directory, no user site), only
/opt/grading (read-only, ours) on PYTHONPATH, no plugin autoload (`pytest-timeout` and the
report plugin named with `-p`), the project's pytest configuration taken from its pristine copy
in the image (`-c`, with `addopts` emptied), and the repository put on the path by the plugin,
after the runner's own packages. So `pytest.py`, `dgm_report.py`, `sitecustomize`, `.pth` files
or entry points in the repository are never loaded by the runner.

Outcomes come back on the container's stdout as the tests run, one keyed line per test phase
(benchmarks/grading/dgm_report.py); everything else the run prints goes to stderr. A phase
reported twice, a keyed line that is not the plugin's, or a line saying pytest's report
machinery was changed voids the grading.
"""

from __future__ import annotations

import json
import secrets
import tomllib
from collections.abc import Sequence
from configparser import ConfigParser, Error as ConfigError
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.checkout import checkout_script
from benchmarks.suite import Project, tree_dir

REPORT_FD = 3
REPORT_CAP = 8_000_000  # bytes kept of each of the run's stdout (the report) and stderr
KEY_FILE = "/work/task/report.key"
OWN_INI = "/opt/grading/pytest.ini"  # an empty configuration, for projects that have none
REPO = "/work/repo"
PHASES = ("setup", "call", "teardown")
OUTCOMES = ("passed", "failed", "skipped")
APPLY_LOG_END = "[dgm] end of apply log"  # on stderr, before any graded code runs


@dataclass(frozen=True)
class Report:
    outcomes: dict[str, str] = field(default_factory=dict)  # node id -> passed | failed | skipped
    messages: dict[str, str] = field(default_factory=dict)  # node id -> crash message, for failures
    durations: dict[str, float] = field(default_factory=dict)  # node id -> seconds
    void: str = ""  # why the report cannot be trusted, if it cannot


def config_file(tree: Path) -> str | None:
    """The file that holds a project's pytest configuration, found in pytest's own order."""
    for name in ("pytest.ini", ".pytest.ini"):
        if (tree / name).is_file():
            return name
    try:
        pyproject = tomllib.loads((tree / "pyproject.toml").read_text())
        if "pytest" in pyproject.get("tool", {}):
            return "pyproject.toml"
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        pass
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        parser = ConfigParser(interpolation=None)
        try:
            parser.read(tree / name)
        except (ConfigError, UnicodeDecodeError):
            continue
        if parser.has_section(section):
            return name
    return None


# The runner's environment from its start (benchmarks/pytest_waiter.py), before any graded code.
RUNNER_ENV = {"PYTHONPATH": "/opt/grading", "PYTHONNOUSERSITE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def patch_script(project: Project, ini: str | None) -> str:
    """Shell: the task's base, the model and test patches (exits 91/92 when one does not apply),
    the pristine pytest configuration, the apply log on stderr."""
    restore = f"cp -f {tree_dir(project)}/{ini} {REPO}/{ini}\n" if ini else ""
    return f"""set -u
{checkout_script(project)}patches() {{ apply /work/task/model.patch || return 91
{restore}apply /work/task/test.patch || return 92; }}
patches; code=$?
cat /work/out/apply.log >&2; echo "{APPLY_LOG_END}" >&2
exit $code
"""


def pytest_run(project: Project, ini: str | None, tests: Sequence[str],
               test_timeout: int) -> tuple[dict[str, str], list[str]]:
    """The environment (besides RUNNER_ENV) and arguments of pytest run in REPO after
    `patch_script`, reporting on fd REPORT_FD (the container's stdout)."""
    repo_paths = ":".join([REPO] + ([f"{REPO}/{project.pythonpath}"] if project.pythonpath else []))
    env = {"DGM_REPORT_KEY_FILE": KEY_FILE, "DGM_REPORT_FD": str(REPORT_FD), "DGM_REPO_PATHS": repo_paths}
    config = f"{REPO}/{ini}" if ini else OWN_INI
    return env, ["-c", config, f"--rootdir={REPO}", "-p", "pytest_timeout", "-p", "dgm_report",
                 "-p", "no:cacheprovider", "-o", "addopts=", "-q", f"--timeout={test_timeout}", *tests]


def new_key() -> str:
    return secrets.token_hex(16)


def read_report(stdout: str, key: str) -> Report:
    """The outcomes the plugin sent, from the run's stdout: only lines carrying this grading's key
    count. A test phase reported twice, a keyed line that is not the plugin's, or a line saying
    the runner was changed voids the report. A test failed if any phase or subtest failed, was skipped if
    its set-up was, and otherwise has its call's outcome once its teardown is reported too (a test
    whose process ended in the middle failed)."""
    phases: dict[str, dict[str, str]] = {}
    report, prefix = Report(), key + " "
    for line in stdout.splitlines():
        if not line.startswith(prefix):
            continue
        try:
            record = json.loads(line[len(prefix):])
            test, when, outcome = record["id"], record["when"], record["outcome"]
            seconds, tampered = float(record.get("duration", 0.0)), record.get("tampered")
            message = str(record.get("message", ""))
        except (ValueError, KeyError, TypeError):
            return Report(void="a report line carrying the grading's key is not the plugin's")
        if when not in (*PHASES, "subtest") or outcome not in OUTCOMES or not isinstance(test, str):
            return Report(void=f"a report line for {test!r} names an unknown phase or outcome")
        if tampered:
            return Report(void=f"the test runner was changed while {test} ran ({'; '.join(map(str, tampered))})")
        seen = phases.setdefault(test, {})
        if when == "subtest":  # a test may have many; only a failing one counts
            if outcome == "failed":
                seen["subtest"] = outcome
        elif when in seen:
            return Report(void=f"test {test} had its {when} reported twice (something besides the plugin "
                               "wrote report lines)")
        else:
            seen[when] = outcome
        report.durations[test] = report.durations.get(test, 0.0) + seconds
        if message:
            report.messages.setdefault(test, message)
    for test, seen in phases.items():
        if "failed" in seen.values():
            report.outcomes[test] = "failed"
        elif seen.get("setup") == "skipped":
            report.outcomes[test] = "skipped"
        elif "call" in seen and "teardown" in seen:
            report.outcomes[test] = seen["call"]
        else:
            report.outcomes[test] = "failed"
            report.messages.setdefault(test, "the test did not finish (its process ended while it ran)")
    return report

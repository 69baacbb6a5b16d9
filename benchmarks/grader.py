"""Grade a patch the SWE-bench way, in a fresh container.

Apply the model patch (git apply, falling back to `patch --fuzz` as SWE-bench does) without
any change to tests or test set-up (the helper modules the tests import included), then the
test patch, run exactly the listed tests, read per-test outcomes from a report written outside
the repository, and call the task resolved iff every FAIL_TO_PASS test passed and every
PASS_TO_PASS test passed or was skipped.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from benchmarks.checkout import SETUP_FAILED, checkout_script
from benchmarks.helper_modules import helper_modules
from benchmarks.patches import drop_test_changes, split_files
from benchmarks.suite import Project, Suite, pristine_tree
from benchmarks.tasks import Task
from dgm.errors import DgmError

REPORT = "/work/out/report.json"
# Exit codes of the test script that mean "a patch did not apply".
APPLY_FAILED = {SETUP_FAILED: "the task's setup patch", 91: "the model patch", 92: "the test patch"}


class GradingError(DgmError):
    """A task cannot be graded here (no source, or its environment is missing)."""


class ReportReader(Protocol):
    """Reads per-test outcomes, failure messages and durations after a run; one per test runner."""

    def read(self, box) -> tuple[dict[str, str], dict[str, str], dict[str, float]]: ...


class PytestReport:
    """The dgm_report plugin's JSON: exact pytest node ids."""

    def read(self, box) -> tuple[dict[str, str], dict[str, str], dict[str, float]]:
        from sandbox.engine import SandboxError

        try:
            report = json.loads(box.read(REPORT))
        except (SandboxError, ValueError):
            report = {}
        return report.get("outcomes", {}), report.get("messages", {}), report.get("durations", {})


@dataclass(frozen=True)
class TestRun:
    reason: str  # exit | timeout | oom
    exit_code: int | None
    outcomes: dict[str, str]  # node id -> passed | failed | skipped
    messages: dict[str, str]  # node id -> crash message, for failures
    output: str
    apply_log: str
    duration: float
    test_durations: dict[str, float] = field(default_factory=dict)  # node id -> seconds


def test_script(project: Project, tests: Sequence[str], test_timeout: int) -> str:
    pythonpath = "/opt/grading:/work/repo" + (f"/{project.pythonpath}" if project.pythonpath else "")
    return f"""set -u
{checkout_script(project)}apply /work/task/model.patch || exit 91
apply /work/task/test.patch || exit 92
DGM_REPORT={REPORT} PYTHONPATH={pythonpath} PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 \\
  python -m pytest -p dgm_report -p pytest_timeout -p no:cacheprovider \\
  -o addopts="" -q --timeout={test_timeout} {" ".join(shlex.quote(t) for t in tests)}
"""


def run_tests(suite: Suite, image: str, project: Project, tests: Sequence[str], *, setup_patch: str,
              model_patch: str = "", test_patch: str = "", timeout: float = 600.0,
              run_id: str = "grade") -> TestRun:
    """Run `tests` on the project's pristine tree after the three patches, in a fresh container."""
    from sandbox.container import Limits, Sandbox

    started = time.monotonic()
    files = {"setup.patch": setup_patch, "model.patch": model_patch, "test.patch": test_patch}
    script = test_script(project, tests, suite.test_timeout)
    with Sandbox(image, ["bash", "-c", script], run_id=run_id, limits=Limits(timeout=timeout)) as box:
        box.put("/work/task", files)
        result = box.run()
        outcomes, messages, durations = PytestReport().read(box)
        try:
            apply_log = box.read("/work/out/apply.log").decode(errors="replace")
        except DgmError:
            apply_log = ""
    return TestRun(result.reason, result.exit_code, outcomes, messages,
                   result.stdout + result.stderr, apply_log, time.monotonic() - started, durations)


@dataclass(frozen=True)
class GradeResult:
    instance_id: str
    resolved: bool
    applied: bool
    reason: str  # why it is not resolved, or "resolved"
    fail_to_pass: dict[str, str] = field(default_factory=dict)
    pass_to_pass: dict[str, str] = field(default_factory=dict)
    dropped_paths: tuple[str, ...] = ()
    duration: float = 0.0


def verdict(task: Task, outcomes: dict[str, str]) -> tuple[bool, str, dict[str, str], dict[str, str]]:
    """SWE-bench v5: a missing or skipped FAIL_TO_PASS test counts as failed."""
    f2p = {t: outcomes.get(t, "missing") for t in task.fail_to_pass}
    p2p = {t: outcomes.get(t, "missing") for t in task.pass_to_pass}
    bad_f2p = [t for t, o in f2p.items() if o != "passed"]
    bad_p2p = [t for t, o in p2p.items() if o not in ("passed", "skipped")]
    if not outcomes:
        return False, "the tests did not run (no report)", f2p, p2p
    if bad_f2p:
        return False, f"{len(bad_f2p)} FAIL_TO_PASS test(s) not passing, e.g. {bad_f2p[0]}", f2p, p2p
    if bad_p2p:
        return False, f"{len(bad_p2p)} PASS_TO_PASS test(s) broken, e.g. {bad_p2p[0]}", f2p, p2p
    return True, "resolved", f2p, p2p


def keep_logs(log_dir: Path, files: dict[str, str]) -> None:
    """A grading's logs, one file each, so every suite kind leaves the same names behind."""
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (log_dir / name).write_text(text)


def helper_paths(task: Task, project: Project) -> set[str]:
    """The non-test modules the task's test files use as helpers (an assertion helper weakened
    would pass the tests), except those the reference fix changes: those are under test."""
    test_files = {t.split("::")[0] for t in (*task.fail_to_pass, *task.pass_to_pass)}
    test_files |= {path for path, _ in split_files(task.test_patch)}
    return helper_modules(pristine_tree(project), project.pythonpath, test_files,
                          [path for path, _ in split_files(task.patch)])


def grade(task: Task, model_patch: str, suite: Suite, image: str, *, log_dir: Path,
          timeout: float = 600.0, run_id: str = "grade") -> GradeResult:
    """Grade `model_patch` for `task` in a fresh container of the suite's environment `image`;
    the patch, the test output and the outcomes are kept in `log_dir`."""
    if task.source is None:
        raise GradingError(f"task {task.instance_id} has no source: grade it with SWE-bench's images")
    project = suite.project_for(task.source.location)
    patch, dropped = drop_test_changes(model_patch, helper_paths(task, project))
    run = run_tests(suite, image, project,
                    (*task.fail_to_pass, *task.pass_to_pass), setup_patch=task.source.setup_patch,
                    model_patch=patch, test_patch=task.test_patch, timeout=timeout, run_id=run_id)
    keep_logs(log_dir, {"model.patch": model_patch, "graded.patch": patch, "test_output.txt": run.output,
                        "apply.log": run.apply_log, "outcomes.json": json.dumps(run.outcomes, indent=1)})
    base = dict(instance_id=task.instance_id, dropped_paths=tuple(dropped), duration=run.duration)
    if run.reason != "exit":
        return GradeResult(resolved=False, applied=True, reason=f"grading ended by {run.reason}", **base)
    if run.exit_code in APPLY_FAILED:
        return GradeResult(resolved=False, applied=False, reason=f"{APPLY_FAILED[run.exit_code]} did not apply", **base)
    resolved, reason, f2p, p2p = verdict(task, run.outcomes)
    return GradeResult(resolved=resolved, applied=True, reason=reason, fail_to_pass=f2p, pass_to_pass=p2p, **base)

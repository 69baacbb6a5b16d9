"""Grade a patch the SWE-bench way, in a fresh container.

Apply the model patch (git apply, falling back to `patch --fuzz` as SWE-bench does) without
any change to tests, test set-up or the helper modules the tests import, nor anything that could
load into the test runner (benchmarks/patches.py, on what git would write), then the test patch;
run exactly the listed tests under a runner the repository cannot reach, with outcomes streamed
out as they happen (benchmarks/pytest_runner.py); call the task resolved iff every FAIL_TO_PASS
test passed and every PASS_TO_PASS test passed or was skipped, each reported exactly once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.checkout import SETUP_FAILED
from benchmarks.helper_modules import helper_modules
from benchmarks.patches import WHOLE_PATCH, drop_test_changes, patch_paths
from benchmarks.pytest_runner import (APPLY_LOG_END, KEY_FILE, REPORT_CAP, RUNNER_ENV, config_file, new_key,
                                      patch_script, pytest_run, read_report)
from benchmarks.pytest_waiter import COMMAND, go
from benchmarks.suite import Project, Suite, pristine_tree
from benchmarks.tasks import Task
from dgm.errors import DgmError

# Exit codes of the test script that mean "a patch did not apply".
APPLY_FAILED = {SETUP_FAILED: "the task's setup patch", 91: "the model patch", 92: "the test patch"}


class GradingError(DgmError):
    """A task cannot be graded here (no source, or its environment is missing)."""


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
    void: str = ""  # why the outcomes cannot be trusted (e.g. a test reported twice)
    report_cut: bool = False  # the report passed REPORT_CAP: tests after the cut went unreported


def run_tests(suite: Suite, image: str, project: Project, tests: Sequence[str], *, setup_patch: str,
              model_patch: str = "", test_patch: str = "", timeout: float = 600.0,
              run_id: str = "grade") -> TestRun:
    """Run `tests` on the project's pristine tree after the three patches, in a fresh container:
    in a ContainerPool's worker, the one it started when its previous job was done (pytest
    already imported), the files copied in before its go."""
    from sandbox.container import Limits
    from sandbox.pool import waiting_sandbox

    started, key = time.monotonic(), new_key()
    files = {"setup.patch": setup_patch, "model.patch": model_patch, "test.patch": test_patch,
             KEY_FILE.rsplit("/", 1)[1]: key}
    ini = config_file(pristine_tree(project))
    env, args = pytest_run(project, ini, tests, suite.test_timeout)
    with waiting_sandbox(image, COMMAND, run_id=run_id, env=RUNNER_ENV,
                         limits=Limits(timeout=timeout, output_cap=REPORT_CAP)) as box:
        box.put("/work/task", files)
        result = box.run(go(patch_script(project, ini), env, args))
    report = read_report(result.stdout, key)
    apply_log, ended, _ = result.stderr.partition(APPLY_LOG_END + "\n")
    return TestRun(result.reason, result.exit_code, report.outcomes, report.messages, result.stderr,
                   apply_log if ended else "", time.monotonic() - started, report.durations, report.void,
                   result.stdout_truncated)


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
    test_files |= patch_paths(task.test_patch)
    return helper_modules(pristine_tree(project), project.pythonpath, test_files, sorted(patch_paths(task.patch)))


def grade(task: Task, model_patch: str, suite: Suite, image: str, *, log_dir: Path,
          timeout: float = 600.0, run_id: str = "grade") -> GradeResult:
    """Grade `model_patch` for `task` in a fresh container of the suite's environment `image`;
    the patch, the test output and the outcomes are kept in `log_dir`."""
    if task.source is None:
        raise GradingError(f"task {task.instance_id} has no source: grade it with SWE-bench's images")
    project = suite.project_for(task.source.location)
    patch, dropped = drop_test_changes(model_patch, helper_paths(task, project))
    if dropped[:1] and dropped[0].startswith(WHOLE_PATCH):
        keep_logs(log_dir, {"model.patch": model_patch})
        return GradeResult(task.instance_id, resolved=False, applied=False,
                           reason=f"the model patch was refused: {dropped[0]}", dropped_paths=tuple(dropped))
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
    if run.void:
        return GradeResult(resolved=False, applied=True, reason=f"the grading is void: {run.void}", **base)
    resolved, reason, f2p, p2p = verdict(task, run.outcomes)
    if not resolved and run.report_cut:
        reason += f" (the test report passed its {REPORT_CAP}-byte cap and was cut)"
    return GradeResult(resolved=resolved, applied=True, reason=reason, fail_to_pass=f2p, pass_to_pass=p2p, **base)

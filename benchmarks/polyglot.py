"""`polyglot:PATH`: a Polyglot-layout tree (aider's polyglot-benchmark, or exercises of the same
shape) as a task suite. One exercise is one task: the agent works on the exercise without its
tests, as DGM does; grading puts the pristine exercise in a fresh container, applies the solution
files of the patch, runs the language's tests, and exit 0 means resolved."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import threading
from dataclasses import dataclass
from pathlib import Path

from benchmarks.agent_run import COMMIT
from benchmarks.grader import GradeResult, keep_logs
from benchmarks.patches import keep_changes
from benchmarks.polyglot_layout import Exercise, PolyglotError, find_exercises
from benchmarks.polyglot_toolchains import TOOLCHAINS, failure_reason, offline_problem
from benchmarks.task_suite import AgentSetup
from benchmarks.tasks import Task, require_fail_to_pass
from dgm.errors import DgmError

WORKDIR = "/work/polyglot"  # the exercise is WORKDIR/<its name>: C++ builds take names from it
APPLY_FAILED = 91
HELDOUT_ONE_IN = 5  # about a fifth of the exercises form the held-out split
# A solution that loops forever fails at this limit (or sooner, if the grading's own limit is
# shorter) with a reason saying so, instead of holding a worker until the container is killed.
TEST_SECONDS = 300
SETUP_SECONDS = 20  # of the grading's limit, kept for copying in and applying the patch
# Toolchains offline, their caches and build output on the writable tmpfs (the root is read-only),
# outside the repository so they never show up in the agent's diff.
TOOLCHAIN_ENV = {
    "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOCACHE": "/tmp/go-cache",
    "GOPATH": "/tmp/go", "CARGO_HOME": "/tmp/cargo", "CARGO_TARGET_DIR": "/tmp/cargo-target",
    "CARGO_NET_OFFLINE": "true",
}
IGNORED = ("build/", "target/", "Cargo.lock", "__pycache__/", "node_modules/", "*.class")

# Each phase is announced as it starts; the first that fails ends the run with its exit code.
GRADE_SCRIPT = """set -u
mkdir -p /work/out && cd {repo}
{prepare}
if [ -s /work/task/model.patch ]; then
  git apply --whitespace=nowarn /work/task/model.patch >>/work/out/apply.log 2>&1 \\
    || patch --batch --fuzz=5 -p1 -i /work/task/model.patch >>/work/out/apply.log 2>&1 || exit {apply_failed}
fi
timeout -k 10 {seconds} bash -c {phases}
code=$?; echo "[dgm] ended $code"; exit $code
"""
PHASE = """printf '\\n[dgm] {phase}\\n'
{command} || exit $?
"""
_PHASE = re.compile(r"^\[dgm\] (configure|build|tests)$", re.M)
_ENDED = re.compile(r"^\[dgm\] ended (\d+)$", re.M)


def exercise_dir(exercise: Exercise) -> str:
    return f"{WORKDIR}/{exercise.name}"


def phases_script(exercise: Exercise) -> str:
    """The toolchain's configure, build and test commands for `exercise`, as one shell script."""
    toolchain = TOOLCHAINS[exercise.language]
    names = {"tests": " ".join(shlex.quote(t) for t in exercise.tests),
             "solution": " ".join(shlex.quote(s) for s in exercise.solution if s.endswith(".py")),
             "name": shlex.quote(exercise.name)}
    steps = [("configure", toolchain.configure), ("build", toolchain.build), ("tests", toolchain.test)]
    return "".join(PHASE.format(command=command.format(**names), phase=phase) for phase, command in steps if command)


@dataclass(frozen=True)
class PolyglotSuite:
    name: str
    root: Path
    exercises: tuple[Exercise, ...]
    # Some exercises' tests pass on the stub (the refactoring exercises, such as Go's counter,
    # ledger and markdown, give working code): inherent to the benchmark, so `dgm bench validate`
    # lists them as free.
    empty_patch_may_resolve = True

    def exercise(self, task: Task) -> Exercise:
        for exercise in self.exercises:
            if exercise.instance_id == task.instance_id:
                return exercise
        raise PolyglotError(f"polyglot suite {self.root} has no exercise for task {task.instance_id}")

    def tasks(self) -> list[Task]:
        return [require_fail_to_pass(_task(exercise), exercise.config) for exercise in self.exercises]

    def image_for(self, task: Task) -> str:
        """One image for every language; its tag is computed once per process."""
        global _image
        from benchmarks.polyglot_image import ensure_polyglot_image

        with _image_lock:
            if _image is None:
                _image = ensure_polyglot_image()
            return _image

    def agent_setup(self, task: Task) -> AgentSetup:
        exercise = self.exercise(task)
        repo = exercise_dir(exercise)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in TOOLCHAIN_ENV.items())
        return AgentSetup(
            repo_setup=f"""export {exports}
{TOOLCHAINS[exercise.language].prepare}
cd {repo} && git init -q && printf '%s\\n' {" ".join(map(shlex.quote, IGNORED))} >> .git/info/exclude
{COMMIT} base
""",
            inputs={repo: exercise.agent_files()},
            repo=repo,
        )

    def grade(self, task: Task, model_patch: str, *, log_dir: Path, timeout: float, run_id: str) -> GradeResult:
        from sandbox.container import Limits, Sandbox

        exercise = self.exercise(task)
        patch, dropped = solution_changes(exercise, model_patch)
        base = dict(instance_id=task.instance_id, dropped_paths=tuple(dropped))
        files = exercise.graded_files()
        offline = offline_problem(exercise.language, files)
        if offline:
            keep_logs(log_dir, {"model.patch": model_patch, "graded.patch": patch, "test_output.txt": offline})
            return GradeResult(resolved=False, applied=True, reason=offline, **base)
        seconds = max(1, min(TEST_SECONDS, int(timeout) - SETUP_SECONDS))
        repo = exercise_dir(exercise)
        script = GRADE_SCRIPT.format(repo=repo, prepare=TOOLCHAINS[exercise.language].prepare,
                                     apply_failed=APPLY_FAILED, seconds=seconds,
                                     phases=shlex.quote(phases_script(exercise)))
        with Sandbox(self.image_for(task), ["bash", "-c", script], run_id=run_id, env=TOOLCHAIN_ENV,
                     limits=Limits(timeout=timeout)) as box:
            box.put(repo, files)
            box.put("/work/task", {"model.patch": patch})
            result = box.run()
            try:
                apply_log = box.read("/work/out/apply.log").decode(errors="replace")
            except DgmError:
                apply_log = ""
        output = result.stdout + result.stderr
        phases = _PHASE.findall(result.stdout)
        ended = _ENDED.findall(result.stdout)
        # the graded code shares stdout: a forged "ended 0" beside the real line resolves nothing
        resolved = result.reason == "exit" and result.exit_code == 0 and ended == ["0"] and phases[-1:] == ["tests"]
        # the exit code is the verdict, so every test file shares it
        outcomes = {test: "passed" if resolved else "failed" for test in exercise.tests} if ended else {}
        keep_logs(log_dir, {"model.patch": model_patch, "graded.patch": patch, "test_output.txt": output,
                            "apply.log": apply_log, "outcomes.json": json.dumps(outcomes, indent=1)})
        base.update(duration=result.duration, fail_to_pass=outcomes)
        if result.reason != "exit":
            return GradeResult(resolved=False, applied=True, reason=f"grading ended by {result.reason}", **base)
        if not ended:
            applied = result.exit_code != APPLY_FAILED
            reason = "the model patch did not apply" if not applied else f"grading failed (exit {result.exit_code})"
            return GradeResult(resolved=False, applied=applied, reason=reason, **base)
        if resolved:
            return GradeResult(resolved=True, applied=True, reason="resolved", **base)
        reason = failure_reason(TOOLCHAINS[exercise.language], phases[-1] if phases else "tests", int(ended[-1]),
                                output, seconds)
        return GradeResult(resolved=False, applied=True, reason=reason, **base)


_image: str | None = None
_image_lock = threading.Lock()


def solution_changes(exercise: Exercise, diff: str) -> tuple[str, list[str]]:
    """The parts of `diff` that change the solution files `.meta/config.json` lists (Rust's
    `Cargo.toml` among them), as DGM grades them, or add a Java class beside them, and the paths
    of everything dropped (runner hazards too)."""
    pristine = exercise.files()
    return keep_changes(diff, lambda path: not (
        path in exercise.solution or (exercise.is_new_class(path) and path not in pristine)))


def _task(exercise: Exercise) -> Task:
    held_out = int(hashlib.sha256(exercise.instance_id.encode()).hexdigest(), 16) % HELDOUT_ONE_IN == 0
    return Task(
        instance_id=exercise.instance_id, repo=f"polyglot/{exercise.language}", base_commit=exercise.content_id(),
        problem_statement=exercise.statement(), patch=exercise.gold_patch(), test_patch="",
        fail_to_pass=exercise.tests, pass_to_pass=(), split="heldout" if held_out else "train",
        extra={"language": exercise.language, "exercise": exercise.name},
    )


def load_polyglot_suite(root: Path) -> PolyglotSuite:
    """The suite for `polyglot:PATH`: every exercise under PATH, validated now."""
    root = root.resolve()
    return PolyglotSuite(f"polyglot:{root.name}", root, tuple(find_exercises(root)))

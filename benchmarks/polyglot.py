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
from pathlib import Path, PurePosixPath

from benchmarks.agent_run import COMMIT
from benchmarks.grader import GradeResult, keep_logs
from benchmarks.patches import keep_changes
from benchmarks.polyglot_layout import Exercise, PolyglotError, find_exercises
from benchmarks.task_suite import AgentSetup
from benchmarks.tasks import Task, require_fail_to_pass
from dgm.errors import DgmError

REPO = "/work/repo"
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


@dataclass(frozen=True)
class Toolchain:
    test_command: str  # shell run in the exercise; exit 0 = every test passed. {tests}: the test files
    build_files: tuple[str, ...]  # build configuration, which a graded patch may not change


# The commands aider's benchmark runs; Rust and C++ exercises mark tests to skip until enabled.
TOOLCHAINS = {
    "python": Toolchain('python -m pytest -q -p no:cacheprovider -o addopts="" {tests}', ()),
    "go": Toolchain("go test ./...", ("go.mod", "go.sum")),
    "rust": Toolchain("cargo test --offline -- --include-ignored", ("Cargo.toml", "Cargo.lock", "build.rs")),
    "cpp": Toolchain('cmake -S . -B /tmp/build -G "Unix Makefiles" -DEXERCISM_RUN_ALL_TESTS=1 >/dev/null '
                     "&& make -C /tmp/build", ("CMakeLists.txt",)),
}

GRADE_SCRIPT = """set -u
mkdir -p /work/out && cd {repo}
if [ -s /work/task/model.patch ]; then
  git apply --whitespace=nowarn /work/task/model.patch >>/work/out/apply.log 2>&1 \\
    || patch --batch --fuzz=5 -p1 -i /work/task/model.patch >>/work/out/apply.log 2>&1 || exit {apply_failed}
fi
timeout -k 10 {seconds} bash -c {test}
code=$?
echo "[dgm] tests exited $code"
[ "$code" -eq 0 ]
"""
_EXITED = re.compile(r"^\[dgm\] tests exited (\d+)$", re.M)


@dataclass(frozen=True)
class PolyglotSuite:
    name: str
    root: Path
    exercises: tuple[Exercise, ...]

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
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in TOOLCHAIN_ENV.items())
        return AgentSetup(
            repo_setup=f"""export {exports}
cd {REPO} && git init -q && printf '%s\\n' build/ target/ Cargo.lock __pycache__/ >> .git/info/exclude
{COMMIT} base
""",
            inputs={REPO: self.exercise(task).agent_files()},
            repo=REPO,
        )

    def grade(self, task: Task, model_patch: str, *, log_dir: Path, timeout: float, run_id: str) -> GradeResult:
        from sandbox.container import Limits, Sandbox

        exercise = self.exercise(task)
        toolchain = TOOLCHAINS[exercise.language]
        patch, dropped = solution_changes(exercise, model_patch)
        tests = " ".join(shlex.quote(t) for t in exercise.tests)
        seconds = max(1, min(TEST_SECONDS, int(timeout) - SETUP_SECONDS))
        script = GRADE_SCRIPT.format(repo=REPO, apply_failed=APPLY_FAILED, seconds=seconds,
                                     test=shlex.quote(toolchain.test_command.format(tests=tests)))
        with Sandbox(self.image_for(task), ["bash", "-c", script], run_id=run_id, env=TOOLCHAIN_ENV,
                     limits=Limits(timeout=timeout)) as box:
            box.put(REPO, exercise.files())
            box.put("/work/task", {"model.patch": patch})
            result = box.run()
            try:
                apply_log = box.read("/work/out/apply.log").decode(errors="replace")
            except DgmError:
                apply_log = ""
        output = result.stdout + result.stderr
        exits = _EXITED.findall(result.stdout)  # the script's own line is the last one
        exited = exits[-1] if exits else None
        resolved = result.reason == "exit" and result.exit_code == 0
        # the exit code is the verdict, so every test file shares it
        outcomes = {test: "passed" if resolved else "failed" for test in exercise.tests} if exited else {}
        keep_logs(log_dir, {"model.patch": model_patch, "graded.patch": patch, "test_output.txt": output,
                            "apply.log": apply_log, "outcomes.json": json.dumps(outcomes, indent=1)})
        base = dict(instance_id=task.instance_id, dropped_paths=tuple(dropped), duration=result.duration,
                    fail_to_pass=outcomes)
        if result.reason != "exit":
            return GradeResult(resolved=False, applied=True, reason=f"grading ended by {result.reason}", **base)
        if not exited and result.exit_code == APPLY_FAILED:
            return GradeResult(resolved=False, applied=False, reason="the model patch did not apply", **base)
        if resolved:
            return GradeResult(resolved=True, applied=True, reason="resolved", **base)
        if exited == "124":
            return GradeResult(resolved=False, applied=True, reason=f"the tests ran past {seconds} s", **base)
        return GradeResult(resolved=False, applied=True,
                           reason=f"the {exercise.language} tests failed (exit {exited or result.exit_code})", **base)


_image: str | None = None
_image_lock = threading.Lock()


def solution_changes(exercise: Exercise, diff: str) -> tuple[str, list[str]]:
    """The parts of `diff` that change solution files, and the paths of everything dropped: tests,
    build configuration (even where the config lists it as a solution file) and any other file."""
    build = TOOLCHAINS[exercise.language].build_files
    return keep_changes(diff, lambda path: path not in exercise.solution or PurePosixPath(path).name in build
                        or exercise.is_test(path))


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

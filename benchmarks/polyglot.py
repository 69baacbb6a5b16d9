"""`polyglot:PATH`: a Polyglot-layout tree (aider's polyglot-benchmark, or exercises of the same
shape) as a task suite. One exercise is one task: the agent works on the exercise without its
tests, as DGM does; grading puts the pristine exercise in a fresh container, applies the solution
files of the patch and runs the language's configure, build and test phases. Resolved takes more
than the test phase's exit 0, which graded code can fake (an exit(0) before any test fails, tests
skipped or never found): the runner's own summary in the test phase's output, with no test failed
and as many passed as the pristine test files declare, counted statically on the host
(polyglot_toolchains), and the test files unchanged after every phase."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shlex
import threading
from dataclasses import dataclass
from pathlib import Path

from benchmarks.agent_run import COMMIT
from benchmarks.grader import GradeResult, keep_logs
from benchmarks.patches import keep_changes
from benchmarks.polyglot_layout import Exercise, PolyglotError, find_exercises
from benchmarks.polyglot_toolchains import TOOLCHAINS, failure_reason, java_classes, offline_problem, unproven_reason
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
# Processes and threads a grading may hold at once: Java's bank-account test starts 1000 threads
# (the JVM adds its own), which outlive the sandbox's default 512 on a loaded machine.
GRADE_PIDS = 2048
# Toolchains offline, their caches and build output on the writable tmpfs (the root is read-only),
# outside the repository so they never show up in the agent's diff.
TOOLCHAIN_ENV = {
    "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOCACHE": "/tmp/go-cache",
    "GOPATH": "/tmp/go", "CARGO_HOME": "/tmp/cargo", "CARGO_TARGET_DIR": "/tmp/cargo-target",
    "CARGO_NET_OFFLINE": "true",
}
IGNORED = ("build/", "target/", "Cargo.lock", "__pycache__/", "node_modules/", "*.class")

NONCE_FILE = "/work/task/nonce"
# The patch is applied by bash; the phases are run by a supervisor in Python, which first makes
# itself non-dumpable (prctl PR_SET_DUMPABLE 0), then reads and deletes the nonce file, before
# any graded code runs. Each phase is announced as it starts and as it ends, with its exit code,
# in lines ending with the nonce; the first phase that fails ends the run with its exit code.
# The graded code runs as the same uid, shares stdout and can read the supervisor's command
# line, but not its memory, environment or open files (/proc/PID/mem, environ, fd/ need the
# ptrace access a non-dumpable process refuses to its uid, whatever Yama says), so it cannot
# print a marker that counts. The test files' hashes are taken before the phases and checked
# after each: a solution that rewrites the tests at build or run time is told.
GRADE_SCRIPT = """set -u
mkdir -p /work/out && cd {repo}
{prepare}
if [ -s /work/task/model.patch ]; then
  git apply --whitespace=nowarn /work/task/model.patch >>/work/out/apply.log 2>&1 \\
    || patch --batch --fuzz=5 -p1 -i /work/task/model.patch >>/work/out/apply.log 2>&1 || exit {apply_failed}
fi
exec python3 -I -S -c {supervisor} {nonce_file} {phases} {seconds} {hashes}
"""
SUPERVISOR = """
import ctypes, hashlib, json, os, subprocess, sys, time
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0: see GRADE_SCRIPT
with open(sys.argv[1]) as f:
    nonce = f.read().strip()
os.unlink(sys.argv[1])
phases, deadline, hashes = json.loads(sys.argv[2]), time.monotonic() + int(sys.argv[3]), json.loads(sys.argv[4])

def changed():
    def digest(path):
        try:
            with open(path, "rb") as f:
                return hashlib.sha256(f.read()).hexdigest()
        except OSError:
            return None
    return [path for path, want in hashes.items() if digest(path) != want]

code = 0
for phase, command in phases:
    print(f"\\n[dgm] {phase} {nonce}", flush=True)
    left = max(1, round(deadline - time.monotonic()))
    code = subprocess.run(["timeout", "-k", "10", str(left), "bash", "-c", command], stderr=subprocess.STDOUT).returncode
    tampered = changed()
    if tampered:
        print(f"\\n[dgm] {phase} changed {json.dumps(tampered)} {nonce}", flush=True)
        code = code or 1
    print(f"\\n[dgm] {phase} ended {code} {nonce}", flush=True)
    if code:
        break
sys.exit(code)
"""


@dataclass(frozen=True)
class PhaseRun:
    """One phase as the supervisor's markers tell it: its output, its exit code (None: it never
    ended, the supervisor was killed) and the test files found changed after it."""

    phase: str
    output: str
    code: int | None
    changed: tuple[str, ...] = ()


def read_phases(stdout: str, nonce: str) -> list[PhaseRun]:
    """The phases the supervisor ran, by its markers only (lines ending with the nonce)."""
    marker = re.compile(rf"^\[dgm\] (configure|build|tests)(?: (ended) (-?\d+)| (changed) (\[.*\]))? {re.escape(nonce)}$", re.M)
    runs, start, phase, changed = [], 0, None, ()
    for found in marker.finditer(stdout):
        name, ended, code, was_changed, paths = found.groups()
        if was_changed:
            changed = tuple(json.loads(paths))
        elif ended:
            runs.append(PhaseRun(name, stdout[start:found.start()], int(code), changed))
            phase = None
        else:
            if phase:  # the previous phase never ended
                runs.append(PhaseRun(phase, stdout[start:found.start()], None))
            phase, start, changed = name, found.end(), ()
    if phase:
        runs.append(PhaseRun(phase, stdout[start:], None))
    return runs


def exercise_dir(exercise: Exercise) -> str:
    return f"{WORKDIR}/{exercise.name}"


def phases(exercise: Exercise, tests: dict[str, str]) -> list[tuple[str, str]]:
    """(phase, shell command): the toolchain's configure, build and test commands for `exercise`,
    whose runner's test files are `tests` ({path: text})."""
    toolchain = TOOLCHAINS[exercise.language]
    names = {"tests": " ".join(shlex.quote(t) for t in exercise.tests),
             "solution": " ".join(shlex.quote(s) for s in exercise.solution if s.endswith(".py")),
             "name": shlex.quote(exercise.name), "classes": java_classes(tests)}
    steps = [("configure", toolchain.configure), ("build", toolchain.build), ("tests", toolchain.test)]
    return [(phase, command.format(**names)) for phase, command in steps if command]


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
        tests = exercise.runner_tests()
        hashes = {f"{repo}/{path}": hashlib.sha256(text.encode()).hexdigest() for path, text in tests.items()}
        planned = phases(exercise, tests)
        nonce = secrets.token_hex(16)
        script = GRADE_SCRIPT.format(repo=repo, prepare=TOOLCHAINS[exercise.language].prepare,
                                     apply_failed=APPLY_FAILED, supervisor=shlex.quote(SUPERVISOR),
                                     nonce_file=NONCE_FILE, phases=shlex.quote(json.dumps(planned)),
                                     seconds=seconds, hashes=shlex.quote(json.dumps(hashes)))
        with Sandbox(self.image_for(task), ["bash", "-c", script], run_id=run_id, env=TOOLCHAIN_ENV,
                     limits=Limits(timeout=timeout, pids=GRADE_PIDS)) as box:
            box.put_all([(repo, files), ("/work/task", {"model.patch": patch, "nonce": nonce})])
            result = box.run()
            try:
                apply_log = box.read("/work/out/apply.log").decode(errors="replace")
            except DgmError:
                apply_log = ""
        output = result.stdout + result.stderr
        runs = read_phases(result.stdout, nonce)
        verdict = _verdict(exercise, result.reason, result.exit_code, runs, [phase for phase, _ in planned], tests,
                           seconds)
        # the verdict is the run's, so every test file shares it
        outcomes = {test: "passed" if verdict == "resolved" else "failed" for test in exercise.tests} if runs else {}
        keep_logs(log_dir, {"model.patch": model_patch, "graded.patch": patch, "test_output.txt": output,
                            "apply.log": apply_log, "outcomes.json": json.dumps(outcomes, indent=1)})
        base.update(duration=result.duration, fail_to_pass=outcomes)
        applied = bool(runs) or result.exit_code != APPLY_FAILED
        return GradeResult(resolved=verdict == "resolved", applied=applied, reason=verdict, **base)


def _verdict(exercise: Exercise, end: str, exit_code: int | None, runs: list[PhaseRun], planned: list[str],
             tests: dict[str, str], seconds: int) -> str:
    """"resolved", or why not. Resolved takes the container's exit 0, every phase ended 0 by the
    supervisor's markers, and the runner's own summary proving the declared tests all passed."""
    toolchain = TOOLCHAINS[exercise.language]
    if end != "exit":
        return f"grading ended by {end}"
    if not runs:
        return "the model patch did not apply" if exit_code == APPLY_FAILED else f"grading failed (exit {exit_code})"
    last = runs[-1]
    if last.changed:
        return f"the {last.phase} changed the test files: {', '.join(p.rsplit('/', 1)[-1] for p in last.changed)}"
    if last.code is None:
        return f"the {last.phase} never ended: its supervisor was ended (exit {exit_code})"
    if last.code:
        return failure_reason(toolchain, last.phase, last.code, last.output, seconds, tuple(tests))
    if [run.phase for run in runs] != planned or exit_code != 0:
        return f"grading failed (exit {exit_code})"
    return unproven_reason(toolchain, last.output, tests) or "resolved"


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

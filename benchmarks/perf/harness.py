"""Harness overhead per task: where a grading's time goes (phase by phase), grading time minus a
bare run of the same tests outside Docker, and grading throughput at 1, 2 and 4 workers, beside
the raw floor measured in the same run: the bare container cycle of `benchmarks.perf.sandbox`.
The gradings run as a pool worker's do: each in the container its worker started (pytest imported,
waiting for its go) after the previous grading; the first has none and starts its own.

The bare run copies the pristine project tree to a temp dir, applies the task's setup and gold
patches with git, and runs exactly the graded tests with the host's pytest (so it needs the
test extra: `pip install -e '.[test]'`).

    python -m benchmarks.perf.harness [--suite pyfix] [--tasks 12] [--cycles 12]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

import sandbox.container
import sandbox.pool
from benchmarks.grader import grade
from benchmarks.perf.sandbox import container_cycle, percentile, throughput
from benchmarks.suite import ensure_environment_image, load_suite, pristine_tree
from benchmarks.tasks import Task
from sandbox.image import ensure_sandbox_image
from sandbox.pool import standby

PHASES = ("create + start (waited for)", "copy in", "go to the script's start", "checkout", "patches",
          "pytest start-up", "tests (report durations)", "exit + collect", "remove",
          "CPU of the grading's processes from the go (user + sys)")
# Each shell command of the checkout and patches is traced with the time it starts, and the runner
# (benchmarks/pytest_waiter.py, told by the go's "trace") marks pytest's start and, once that
# process has ended, the run's end (same clock as the host's time.time(): one kernel), with the
# CPU time of the process forked at the go and all it ran (not the imports before the go), which,
# unlike wall time, other jobs on the machine do not inflate: under load, Docker's containers
# share one CPU weight against every host process. Nothing is copied out: the outcomes stream on
# the container's stdout.
TRACE = "PS4='+${EPOCHREALTIME} '; set -x\n"
TRACE_LINE = re.compile(r"^\++(\d+\.\d+) (.*)$", re.MULTILINE)
TIMES = re.compile(r"^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$", re.MULTILINE)  # `times`: user, sys


class TimedSandbox(sandbox.container.Sandbox):
    """The grader's Sandbox with each host-side step on a grading's path timed and its run traced."""

    def __init__(self, image, command, **kwargs):
        super().__init__(image, command, **kwargs)
        self.phases = defaultdict(float)

    def _timed(self, phase, fn, *args):
        started = time.time()
        try:
            return fn(*args)
        finally:
            self.phases[phase] += time.time() - started

    def put_all(self, items):  # `put` copies through it too
        return self._timed("copy in", super().put_all, items)

    def run(self, go=""):
        job = json.loads(go)
        job["script"], job["trace"] = TRACE + job["script"], True
        _timings.append(self.phases)
        started = time.time()
        result = self._timed("run", super().run, json.dumps(job))
        ended = started + self.phases["run"]
        marks = TRACE_LINE.findall(result.stderr)
        first, setup, pytest, end = (_mark(marks, text) for text in ("", "apply /work/task/setup.patch",
                                                                      "-m pytest", "END"))
        self.phases["tests (report durations)"] = sum(_durations(result.stdout))
        if first and setup and pytest and end:
            self.phases["go to the script's start"] = first - started
            self.phases["checkout"] = setup - first
            self.phases["patches"] = pytest - setup
            self.phases["pytest start-up"] = end - pytest - self.phases["tests (report durations)"]
            self.phases["exit + collect"] = ended - end
            self.phases["script"] = end - first
        times = TIMES.findall(result.stderr)
        if times:
            minutes_user, user, minutes_sys, sys_ = times[-1]
            self.phases[PHASES[-1]] = 60 * int(minutes_user) + float(user) + 60 * int(minutes_sys) + float(sys_)
        return result

    def close(self):
        self._timed("remove", super().close)


def timed_waiting_sandbox(image, command, **settings):
    """sandbox.pool's, timing what the grading waits for: its spare, or a container made now."""
    started = time.time()
    box = _waiting_sandbox(image, command, **settings)
    box.phases[PHASES[0]] = time.time() - started
    return box


_waiting_sandbox = sandbox.pool.waiting_sandbox


def _mark(marks: list[tuple[str, str]], text: str) -> float | None:
    """When the first traced command containing `text` started."""
    return next((float(t) for t, command in marks if text in command), None)


def _durations(stdout: str) -> list[float]:
    """The seconds of each test phase in the report lines (`KEY {json}`) the runner streamed."""
    seconds = []
    for line in stdout.splitlines():
        try:
            seconds.append(float(json.loads(line.partition(" ")[2])["duration"]))
        except (ValueError, KeyError, TypeError):
            continue
    return seconds


_timings: list[dict[str, float]] = []


def bare_run(task: Task, suite) -> float:
    project = suite.project_for(task.source.location)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp, "repo")
        shutil.copytree(pristine_tree(project), repo)
        started = time.perf_counter()
        for patch in (task.source.setup_patch, task.patch):
            subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=repo, check=True)
        env_path = str(repo / project.pythonpath) if project.pythonpath else str(repo)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
             *task.fail_to_pass, *task.pass_to_pass],
            cwd=repo, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        )
        if proc.returncode != 0:
            sys.exit(f"the bare run of {task.instance_id} failed on the host (its project's test requirements "
                     f"must be installed here): {(proc.stdout + proc.stderr).strip()[-300:]}")
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="pyfix")
    parser.add_argument("--tasks", type=int, default=12, help="tasks measured (the first N by id)")
    parser.add_argument("--cycles", type=int, default=12, help="bare container cycles for the raw floor")
    args = parser.parse_args()
    if importlib.util.find_spec("pytest") is None:
        sys.exit("benchmarks.perf.harness needs pytest on the host for the bare run: pip install -e '.[test]'")
    suite = load_suite(args.suite)
    image = ensure_environment_image(suite)
    sandbox_image = ensure_sandbox_image()
    tasks = sorted(suite.tasks(), key=lambda t: t.instance_id)[: args.tasks]
    logs = Path(tempfile.mkdtemp(prefix="dgm-harness-"))

    def graded(task: Task) -> float:
        started = time.perf_counter()
        result = grade(task, task.patch, suite, image, log_dir=logs / task.instance_id, run_id="bench")
        assert result.resolved, (task.instance_id, result.reason)
        return time.perf_counter() - started

    load_before = os.getloadavg()[0]
    container_cycle(sandbox_image)  # warm the image and the client's connection pool
    # Interleaved, so the machine's changing load weighs on grading and floor alike. The gradings
    # run as a pool's worker does, each in the container started once the previous one was done;
    # the bare run and the floor are measured once that container is ready, not beside its start.
    floor, grade_times, bare_times = [], [], []
    sandbox.pool.Sandbox, sandbox.pool.waiting_sandbox = TimedSandbox, timed_waiting_sandbox
    try:
        with standby() as spare:
            for i in range(max(args.cycles, len(tasks))):
                if i < args.cycles:
                    floor.append(container_cycle(sandbox_image))
                if i < len(tasks):
                    grade_times.append(graded(tasks[i]))
                    spare.refill()
                    spare.wait()
                    bare_times.append(bare_run(tasks[i], suite))
    finally:
        sandbox.pool.Sandbox, sandbox.pool.waiting_sandbox = sandbox.container.Sandbox, _waiting_sandbox
    phases = [{p: timing.get(p, float("nan")) for p in PHASES} for timing in _timings]
    overheads = [g - b for g, b in zip(grade_times, bare_times)]
    rates, floor_rates = {}, {}
    for workers in (1, 2, 4):
        rates[workers] = throughput(graded, tasks, workers)
        floor_rates[workers] = throughput(container_cycle, [sandbox_image] * len(tasks), workers)
    load_after = os.getloadavg()[0]

    console = Console()
    console.print(f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after; {os.cpu_count()} CPUs")
    table = Table(title=f"harness overhead on {len(tasks)} {suite.name} tasks (gold patches)")
    for column in ("measure", "p50 s", "p95 s"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for name, values in (("grading (container)", grade_times), ("bare test run (host)", bare_times),
                         ("overhead", overheads), ("raw floor: container cycle", floor)):
        table.add_row(name, f"{statistics.median(values):.2f}", f"{percentile(values, 0.95):.2f}")
    table.add_row("overhead / container cycle",
                  f"{statistics.median(overheads) / statistics.median(floor):.2f}", "")
    console.print(table)
    breakdown = Table(title="where a grading's time goes (sequential gradings)")
    for column in ("phase", "p50 s", "p95 s"):
        breakdown.add_column(column, justify="left" if column == "phase" else "right")
    for phase in PHASES:
        values = [p[phase] for p in phases]
        breakdown.add_row(phase, f"{statistics.median(values):.3f}", f"{percentile(values, 0.95):.3f}")
    console.print(breakdown)
    rate_table = Table(title="throughput (tasks/s)")
    rate_table.add_column("path")
    for workers in rates:
        rate_table.add_column(f"{workers} worker{'s' if workers > 1 else ''}", justify="right")
    rate_table.add_row("grading", *(f"{r:.2f}" for r in rates.values()))
    rate_table.add_row("raw floor: container cycle", *(f"{r:.2f}" for r in floor_rates.values()))
    rate_table.add_row("grading / container cycle", *(f"{rates[w] / floor_rates[w]:.2f}" for w in rates))
    console.print(rate_table)
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()

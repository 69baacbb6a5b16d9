"""Harness overhead per task: where a grading's time goes (phase by phase), grading time minus a
bare run of the same tests outside Docker, and grading throughput at 1, 2 and 4 workers, beside
the raw floor measured in the same run: the bare container cycle of `benchmarks.perf.sandbox`.

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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

import sandbox.container
from benchmarks.grader import grade
from benchmarks.perf.sandbox import container_cycle, percentile, throughput
from benchmarks.suite import ensure_environment_image, load_suite, pristine_tree
from benchmarks.tasks import Task
from sandbox.image import ensure_sandbox_image

PHASES = ("create", "copy in", "start", "checkout + patches", "pytest start-up", "tests (report durations)",
          "exit + wait", "copy out", "remove", "CPU of the script's processes (user + sys)")
# Each shell command the grading script runs is traced with the time it starts; the exit trap
# marks the script's end (same clock as the host's time.time(): one kernel) and prints the CPU
# time of the script's processes, which, unlike wall time, other jobs on the machine do not
# inflate: under load, Docker's containers share one CPU weight against every host process.
TRACE = "PS4='+${EPOCHREALTIME} '; trap 'echo \"+${EPOCHREALTIME} END\" >&2; times >&2' EXIT; set -x\n"
TRACE_LINE = re.compile(r"^\++(\d+\.\d+) (.*)$", re.MULTILINE)
TIMES = re.compile(r"^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$", re.MULTILINE)  # `times`: user, sys


class TimedSandbox(sandbox.container.Sandbox):
    """The grader's Sandbox with each host-side step timed and the script traced."""

    def __init__(self, image, command, **kwargs):
        started = time.time()
        if list(command[:2]) == ["bash", "-c"]:
            command = ["bash", "-c", TRACE + command[2]]
        super().__init__(image, command, **kwargs)
        self.phases = defaultdict(float, create=time.time() - started)
        _timings.append(self.phases)

    def _timed(self, phase, fn, *args):
        started = time.time()
        try:
            return fn(*args)
        finally:
            self.phases[phase] += time.time() - started

    def put_all(self, items):  # `put` copies through it too
        return self._timed("copy in", super().put_all, items)

    def read(self, path):
        data = self._timed("copy out", super().read, path)
        if path.endswith(".json"):
            try:
                self.phases["tests (report durations)"] = sum(json.loads(data).get("durations", {}).values())
            except ValueError:
                pass
        return data

    def run(self):
        started = time.time()
        result = self._timed("run", super().run)
        marks = TRACE_LINE.findall(result.stderr)
        if marks:
            first = float(marks[0][0])
            pytest = next((float(t) for t, cmd in marks if "-m pytest" in cmd), None)
            end = next((float(t) for t, cmd in marks if cmd == "END"), None)
            self.phases["start"] = first - started
            times = TIMES.findall(result.stderr)
            if times:  # the second line: the script's child processes
                minutes_user, user, minutes_sys, sys_ = times[-1]
                self.phases[PHASES[-1]] = 60 * int(minutes_user) + float(user) + 60 * int(minutes_sys) + float(sys_)
            if pytest and end:
                self.phases["checkout + patches"] = pytest - first
                self.phases["pytest start-up"] = end - pytest  # less the tests, once the report is read
                self.phases["exit + wait"] = started + self.phases["run"] - end
        return result

    def close(self):
        self._timed("remove", super().close)


_timings: list[dict[str, float]] = []


def phase_breakdown(phases: dict[str, float]) -> dict[str, float]:
    out = {p: phases.get(p, float("nan")) for p in PHASES}
    out["pytest start-up"] -= phases.get("tests (report durations)", 0.0)
    return out


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
    floor = [container_cycle(sandbox_image) for _ in range(args.cycles)]
    sandbox.container.Sandbox = TimedSandbox
    try:
        grade_times = [graded(t) for t in tasks]
    finally:
        sandbox.container.Sandbox = TimedSandbox.__mro__[1]
    phases = [phase_breakdown(p) for p in _timings]
    bare_times = [bare_run(t, suite) for t in tasks]
    overheads = [g - b for g, b in zip(grade_times, bare_times)]
    rates = {}
    for workers in (1, 2, 4):
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(graded, tasks))
        rates[workers] = len(tasks) / (time.perf_counter() - started)
    floor_rates = {w: throughput(container_cycle, sandbox_image, w, len(tasks)) for w in (1, 2, 4)}
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
    console.print(rate_table)
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Harness overhead per task: grading time minus a bare run of the same tests outside Docker,
and grading throughput at 1, 2 and 4 workers.

The bare run copies the pristine project tree to a temp dir, applies the task's setup and gold
patches with git, and runs exactly the graded tests with the host's pytest.

    python -m benchmarks.perf.harness [--suite pyfix] [--tasks 12]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.grader import grade
from benchmarks.perf.sandbox import percentile
from benchmarks.suite import ensure_environment_image, load_suite, pristine_tree
from benchmarks.tasks import Task


def bare_run(task: Task, suite) -> float:
    project = suite.project_for(task.source.location)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp, "repo")
        shutil.copytree(pristine_tree(project), repo)
        started = time.perf_counter()
        for patch in (task.source.setup_patch, task.patch):
            subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=repo, check=True)
        env_path = str(repo / project.pythonpath) if project.pythonpath else str(repo)
        subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "-q",
             *task.fail_to_pass, *task.pass_to_pass],
            cwd=repo, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"}, capture_output=True, check=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="pyfix")
    parser.add_argument("--tasks", type=int, default=12, help="tasks measured (the first N by id)")
    args = parser.parse_args()
    suite = load_suite(args.suite)
    image = ensure_environment_image(suite)
    tasks = sorted(suite.tasks(), key=lambda t: t.instance_id)[: args.tasks]
    logs = Path(tempfile.mkdtemp(prefix="dgm-harness-"))

    def graded(task: Task) -> float:
        started = time.perf_counter()
        result = grade(task, task.patch, suite, image, log_dir=logs / task.instance_id, run_id="bench")
        assert result.resolved, (task.instance_id, result.reason)
        return time.perf_counter() - started

    grade_times = [graded(t) for t in tasks]
    bare_times = [bare_run(t, suite) for t in tasks]
    overheads = [g - b for g, b in zip(grade_times, bare_times)]
    rates = {}
    for workers in (1, 2, 4):
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(graded, tasks))
        rates[workers] = len(tasks) / (time.perf_counter() - started)

    table = Table(title=f"harness overhead on {len(tasks)} {suite.name} tasks (gold patches)")
    for column in ("measure", "p50 s", "p95 s"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for name, values in (("grading (container)", grade_times), ("bare test run (host)", bare_times),
                         ("overhead", overheads)):
        table.add_row(name, f"{statistics.median(values):.2f}", f"{percentile(values, 0.95):.2f}")
    Console().print(table)
    throughput = Table(title="grading throughput")
    for workers in rates:
        throughput.add_column(f"{workers} worker{'s' if workers > 1 else ''} (tasks/s)", justify="right")
    throughput.add_row(*(f"{r:.2f}" for r in rates.values()))
    Console().print(throughput)
    shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()

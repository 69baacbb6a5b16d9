"""Sandbox cost: one full container cycle against the floor of a plain subprocess.

A cycle is what a grader pays per task: create a container, copy a small tree in, run a
command that reads it and writes a result, copy the result out, remove the container.

    python -m benchmarks.perf.sandbox [--cycles 20] [--jobs 16]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.table import Table

from sandbox.container import Sandbox, wait_for_removals
from sandbox.image import ensure_sandbox_image
from sandbox.pool import ContainerPool

COMMAND = ["python3", "-c", "import pathlib; n = len(pathlib.Path('in/data.txt').read_text()); pathlib.Path('out.txt').write_text(str(n))"]
T = TypeVar("T")
FILES = {"data.txt": "x" * 10_000, "pkg/mod.py": "VALUE = 1\n" * 100}


def container_cycle(image: str) -> float:
    started = time.perf_counter()
    with Sandbox(image, COMMAND, run_id="bench") as box:
        box.put("/work/in", FILES)
        result = box.run()
        assert result.ok, result
        assert box.read("/work/out.txt") == b"10000"
    return time.perf_counter() - started


def subprocess_cycle(_: str) -> float:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, content in FILES.items():
            path = Path(tmp, "in", name)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        subprocess.run([sys.executable, *COMMAND[1:]], cwd=tmp, check=True)
        assert Path(tmp, "out.txt").read_text() == "10000"
        shutil.rmtree(Path(tmp, "in"))
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def throughput(job: Callable[[T], object], items: list[T], workers: int) -> float:
    """Jobs per second over `items` on a ContainerPool of `workers` (whose workers start their
    next container ahead), until the containers closed, spares included, are removed too (removal
    runs in the background: its cost must not leave the measurement)."""
    started = time.perf_counter()
    for _, result in ContainerPool(workers).map_unordered(job, items):
        if isinstance(result, BaseException):
            raise result
    wait_for_removals()
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=20, help="sequential cycles for latency")
    parser.add_argument("--jobs", type=int, default=16, help="jobs per throughput measurement")
    args = parser.parse_args()
    image = ensure_sandbox_image()
    container_cycle(image)  # warm the image and the client's connection pool
    load_before = os.getloadavg()[0]

    table = Table(title=f"sandbox cycle: create + copy in + run + copy out + remove ({image})")
    for column in ("path", "p50 ms", "p95 ms", "1 worker /s", "2 workers /s", "4 workers /s"):
        table.add_column(column, justify="right" if column != "path" else "left")
    for name, cycle in (("plain subprocess", subprocess_cycle), ("container", container_cycle)):
        latencies = [cycle(image) for _ in range(args.cycles)]
        rates = [throughput(cycle, [image] * args.jobs, w) for w in (1, 2, 4)]
        table.add_row(
            name, f"{1000 * statistics.median(latencies):.0f}", f"{1000 * percentile(latencies, 0.95):.0f}",
            *(f"{r:.2f}" for r in rates),
        )
    Console().print(table)
    print(f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

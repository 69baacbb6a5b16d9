"""Code search on this machine's Python standard library: index build (cold, and warm after
touching one file, each timed from a new CodeIndex as a new process starts), where a cold
build's CPU goes (each step once over the tree in this one process, and tree-sitter on every
file for comparison), and query latency, beside the raw floors: universal-ctags indexing the
same tree (definitions only; skipped with a note when `ctags` is not installed) and `git grep`
on a git copy of it.

    python -m benchmarks.perf.search [--queries 20]
"""

from __future__ import annotations

import argparse
import hashlib
import marshal
import os
import random
import resource
import shutil
import statistics
import subprocess
import sysconfig
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.perf.sandbox import percentile
from tools import python_scan
from tools.code_index import CodeIndex, parse_file, scan_with_tree_sitter
from tools.repo_map import repo_map


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the parsing pool's workers): unlike
    wall time, other jobs on a shared machine do not inflate it."""
    return sum(sum(r[:2]) for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def cold_steps(tree: Path, files: list[str]) -> dict[str, float]:
    """CPU seconds of each step of a cold build, run once over every file in this process (the
    build runs them on every core)."""
    steps: dict[str, float] = {}

    def step(name: str, fn):
        started = time.process_time()
        result = fn()
        steps[name] = time.process_time() - started
        return result

    def read_and_hash() -> dict[str, bytes]:
        data = {f: (tree / f).read_bytes() for f in files}
        for d in data.values():
            hashlib.sha1(d).hexdigest()
        return data

    data = step("read and hash", read_and_hash)
    scanned = step("scan Python (tools/python_scan.py)", lambda: {f: python_scan.scan(d) for f, d in data.items() if f.endswith(".py")})
    rest = [f for f in files if scanned.get(f) is None]
    step(f"tree-sitter for what the scan leaves ({len(rest)} files)", lambda: [scan_with_tree_sitter(f, data[f]) for f in rest])
    results = step("whole parse (the two above, and counting uses)", lambda: [parse_file(f, d) for f, d in data.items()])
    step("marshal the results", lambda: marshal.dumps(results))
    step("for comparison: tree-sitter on every file", lambda: [scan_with_tree_sitter(f, d) for f, d in data.items()])
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp, "stdlib")
        shutil.copytree(sysconfig.get_paths()["stdlib"], tree, ignore=shutil.ignore_patterns(
            "site-packages", "__pycache__", "*.pyc", "lib-dynload"), symlinks=True)
        subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
        subprocess.run(["git", "add", "-A"], cwd=tree, check=True)
        cache = Path(tmp, "cache")
        index = CodeIndex(tree, cache_dir=cache)
        cpu = cpu_seconds()
        cold = timed(index.refresh)
        cold_cpu = cpu_seconds() - cpu
        files = index.files()
        touched = tree / "json" / "decoder.py"
        touched.write_text(touched.read_text() + "\n\ndef benchmark_marker():\n    pass\n")
        warm = timed(lambda: CodeIndex(tree, cache_dir=cache).refresh())
        index = CodeIndex(tree, cache_dir=cache)
        index.refresh()
        first_query = timed(lambda: index.definitions("benchmark_marker"))
        ctags = shutil.which("ctags") and timed(lambda: subprocess.run(
            ["ctags", "-R", "--languages=Python", "-f", os.devnull, str(tree)], check=True))
        names = sorted({s.name for s in index.all_definitions() if len(s.name) > 6})
        rng = random.Random(0)
        queries = rng.sample(names, args.queries)
        rows = {
            "definitions (exact)": [timed(lambda q=q: index.definitions(q)) for q in queries],
            "definitions (fuzzy, misspelt)": [timed(lambda q=q: index.definitions(q[:-1] + "x", fuzzy=True)) for q in queries[:5]],
            "references": [timed(lambda q=q: index.references(q)) for q in queries],
            "repo map (1k tokens)": [timed(lambda: repo_map(index, 1024))],
            "git grep -w": [timed(lambda q=q: subprocess.run(["git", "grep", "-n", "-w", q], cwd=tree, capture_output=True)) for q in queries],
        }
        lines = sum(len((tree / f).read_bytes().splitlines()) for f in files)
        steps = cold_steps(tree, files)
        stored = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())

    console = Console()
    console.print(f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} CPUs")
    build = Table(title=f"index build: {len(files)} files, {lines:,} lines of the standard library")
    for column in ("build", "seconds"):
        build.add_column(column, justify="left" if column == "build" else "right")
    build.add_row("cold (parse everything)", f"{cold:.2f}")
    build.add_row("cold, CPU seconds of all its processes", f"{cold_cpu:.2f}")
    build.add_row("warm (one file changed)", f"{warm:.2f}")
    build.add_row("first lookup after it (loads the stored index)", f"{first_query:.2f}")
    build.add_row("raw floor: ctags -R (definitions only)", f"{ctags:.2f}" if ctags else "ctags not installed")
    console.print(build)
    console.print(f"stored index: {stored / 2**20:.1f} MB")
    cpu = Table(title="a cold build's steps, CPU s in one process")
    for column in ("step", "CPU s"):
        cpu.add_column(column, justify="left" if column == "step" else "right")
    for name, seconds in steps.items():
        cpu.add_row(name, f"{seconds:.2f}")
    cpu.add_row("the build's CPU beyond the steps (processes, pickling, packs, manifest)",
                f"{cold_cpu - steps['read and hash'] - steps['whole parse (the two above, and counting uses)'] - steps['marshal the results']:.2f}")
    console.print(cpu)
    table = Table(title="query latency")
    for column in ("query", "median ms", "p95 ms"):
        table.add_column(column, justify="left" if column == "query" else "right")
    for name, seconds in rows.items():
        table.add_row(name, f"{1000 * statistics.median(seconds):.1f}", f"{1000 * percentile(seconds, 0.95):.1f}")
    console.print(table)


if __name__ == "__main__":
    main()

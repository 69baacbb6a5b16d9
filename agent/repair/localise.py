"""Where the fault probably is: lines in the failing tests' tracebacks first, then lines ranked
by Ochiai suspiciousness over which failing and passing tests executed them."""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

IMPORT = "<import>"  # the spectrum plugin's pseudo test id for import-time lines
NATIVE_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
RAISED = re.compile(r"^(?:E\s+)?(?:[\w.]+\.)?(\w+(?:Error|Exception))(?::|$)", re.M)
TRACEBACK_WEIGHT, TRACEBACK_DECAY = 1.0, 0.5  # innermost frame +1, the next +0.5, ...


@dataclass(frozen=True, order=True)
class Suspect:
    path: str  # relative to the repository
    line: int
    score: float = 0.0
    why: str = "spectrum"  # traceback | spectrum


def is_test_path(path: str) -> bool:
    parts = Path(path).parts
    name = parts[-1] if parts else ""
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or any(p in ("test", "tests", "testing") for p in parts[:-1]))


def traceback_frames(output: str, repo: Path) -> list[tuple[str, int]]:
    """(file, line) of `--tb=native` frames in the repository's non-test code, innermost first."""
    root = str(repo.resolve())
    frames: list[tuple[str, int]] = []
    for path, line, _ in NATIVE_FRAME.findall(output):
        resolved = Path(path) if Path(path).is_absolute() else repo / path
        try:
            relative = str(resolved.resolve().relative_to(root))
        except ValueError:
            continue  # the standard library or site-packages
        if relative.endswith(".py") and not is_test_path(relative) and (relative, int(line)) not in frames:
            frames.append((relative, int(line)))
    return frames[::-1]


def exception_types(output: str) -> list[str]:
    """Exceptions the failing tests raised (not assertion failures), in order of appearance."""
    found = [e for e in RAISED.findall(output) if e not in ("AssertionError", "Failed")]
    return list(dict.fromkeys(found))


def ochiai(coverage: Mapping[str, Mapping[str, Iterable[int]]], failing: set[str],
           passing: set[str]) -> dict[tuple[str, int], float]:
    """suspiciousness = ef / sqrt(F * (ef + ep)): high for lines every failing test runs and
    few passing tests do."""
    executed_failing: dict[tuple[str, int], int] = {}
    executed_passing: dict[tuple[str, int], int] = {}
    shared = coverage.get(IMPORT, {})  # lines run at import time count as run by every test
    for test, files in coverage.items():
        counts = executed_failing if test in failing else executed_passing if test in passing else None
        if counts is None:
            continue
        sites = {(path, line) for path, lines in files.items() for line in lines}
        sites |= {(path, line) for path, lines in shared.items() for line in lines}
        for site in sites:
            counts[site] = counts.get(site, 0) + 1
    total_failing = max(1, len(failing))
    return {site: ef / math.sqrt(total_failing * (ef + executed_passing.get(site, 0)))
            for site, ef in executed_failing.items()}


def enclosing_functions(repo: Path, paths: Iterable[str]) -> dict[tuple[str, int], str]:
    """(file, line) -> name of the innermost function holding that line, for tie-breaking."""
    names: dict[tuple[str, int], str] = {}
    for path in set(paths):
        try:
            tree = ast.parse((repo / path).read_text())
        except (OSError, SyntaxError, ValueError):
            continue
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        # Outer functions first, so inner ones overwrite their lines.
        for node in sorted(functions, key=lambda n: n.end_lineno - n.lineno, reverse=True):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                names[(path, line)] = node.name
    return names


def rank(repo: Path, frames: list[tuple[str, int]], scores: dict[tuple[str, int], float], hint: str,
         limit: int) -> list[Suspect]:
    """Lines by spectrum score plus a traceback weight (1 for the innermost frame, halving
    outwards), so the line that raised leads, then lines both suspicious and on the traceback.
    Ties (common with few passing tests) go first to lines in a function that is in a traceback,
    then to lines in a function the issue names, then to later lines (where a wrong value is
    returned)."""
    functions = enclosing_functions(repo, [p for p, _ in frames] + [p for p, _ in scores])
    in_traceback = {(p, functions.get((p, n))) for p, n in frames}
    words = set(re.findall(r"\w+", hint.lower()))
    combined = {site: score for site, score in scores.items() if score > 0}
    for depth, site in enumerate(frames):
        combined[site] = scores.get(site, 0.0) + TRACEBACK_WEIGHT * TRACEBACK_DECAY ** depth
    on_traceback = set(frames)

    def key(item: tuple[tuple[str, int], float]) -> tuple:
        (path, line), score = item
        function = functions.get((path, line))
        named = function is not None and function.strip("_").lower() in words
        return (-round(score, 6), (path, function) not in in_traceback, not named, path, -line)

    return [Suspect(path, line, score, "traceback" if (path, line) in on_traceback else "spectrum")
            for (path, line), score in sorted(combined.items(), key=key)[:limit]]

"""Edit application on real code with models' mistakes: ours beside aider's.

For each case: success (the file is exactly as intended, or the edit was refused where the
target is ambiguous), failure (refused where a right answer existed) or wrong place (changed
the file in any other way: the outcome that must never happen). Aider's
`replace_most_similar_chunk` runs in its own virtual environment, never as our dependency:

    python3 -m venv /tmp/aider-venv && /tmp/aider-venv/bin/pip install aider-chat
    python -m benchmarks.perf.edits --cases 560 --seed 0 --aider-python /tmp/aider-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.perf.edit_corpus import KINDS, EditCase, build_corpus, code_bases
from benchmarks.perf.sandbox import percentile
from tools.editor import EditError, replace_text

AIDER_WORKER = """
import json, sys, time
from aider.coders.editblock_coder import replace_most_similar_chunk
for line in sys.stdin:
    case = json.loads(line)
    cpu, wall = time.thread_time(), time.perf_counter()
    try:
        result = replace_most_similar_chunk(case["text"], case["search"], case["replace"])
    except Exception:
        result = None
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    print(json.dumps({"result": result, "cpu": cpu, "wall": wall}), flush=True)
"""


def outcome(case: EditCase, result: str | None) -> str:
    if result is None:
        return "success" if case.expected is None else "failure"
    if case.expected is not None and result == case.expected:
        return "success"
    return "failure" if result == case.text else "wrong_place"


def run_ours(cases: list[EditCase]) -> list[tuple[str, float, float]]:
    """(outcome, CPU seconds, wall seconds) per case."""
    out = []
    for case in cases:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            result, _ = replace_text("case.py", case.text, case.search, case.replace)
        except EditError:
            result = None
        out.append((outcome(case, result), time.thread_time() - cpu, time.perf_counter() - wall))
    return out


def run_aider(cases: list[EditCase], python: str) -> list[tuple[str, float, float]] | None:
    if not Path(python).exists():
        Console(stderr=True).print(f"aider is not installed at {python}; see this module's docstring. Reporting ours only.")
        return None
    payload = "".join(json.dumps({"text": c.text, "search": c.search, "replace": c.replace}) + "\n" for c in cases)
    proc = subprocess.run([python, "-c", AIDER_WORKER], input=payload, capture_output=True, text=True, check=True)
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    return [(outcome(case, answer["result"]), answer["cpu"], answer["wall"]) for case, answer in zip(cases, answers)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=560)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--aider-python", default="/tmp/aider-venv/bin/python")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown, as in the README")
    args = parser.parse_args()
    cases = build_corpus(args.cases, args.seed)
    results = {"dgm": run_ours(cases)}
    aider = run_aider(cases, args.aider_python)
    if aider is not None:
        results["aider"] = aider

    header = ["mistake", *(f"{name} {column}" for name in results for column in ("success", "wrong place"))]
    rows = []
    for kind in (*KINDS, "all"):
        row = [kind]
        for outcomes in results.values():
            counts = Counter(o for (o, _, _), c in zip(outcomes, cases) if kind in ("all", c.kind))
            row += [f"{100 * counts['success'] / counts.total():.1f} %", str(counts["wrong_place"])]
        rows.append(row)
    # CPU time is the figure to compare: on a shared machine wall time also counts other jobs
    timing_header = ["editor", "median ms", "p95 ms", "max ms", "wall median ms", "wall p95 ms"]
    timing_rows = []
    for name, outcomes in results.items():
        cpu, wall = [c for _, c, _ in outcomes], [w for _, _, w in outcomes]
        timing_rows.append([name, *(f"{1000 * x:.3f}" for x in (statistics.median(cpu), percentile(cpu, 0.95), max(cpu),
                                                                 statistics.median(wall), percentile(wall, 0.95)))])
    titles = (f"edit application: {len(cases)} cases from {len(code_bases())} code bases (seed {args.seed})",
              "time per edit (CPU time of the applying thread; wall time beside it)")
    for title, head, body in zip(titles, (header, timing_header), (rows, timing_rows)):
        if args.markdown:
            print(f"\n{title}:\n\n| {' | '.join(head)} |\n|{'---|' * len(head)}")
            print("\n".join(f"| {' | '.join(row)} |" for row in body))
            continue
        table = Table(title=title)
        for i, column in enumerate(head):
            table.add_column(column, justify="left" if i == 0 else "right")
        for row in body:
            table.add_row(*row)
        Console(width=120).print(table)


if __name__ == "__main__":
    main()

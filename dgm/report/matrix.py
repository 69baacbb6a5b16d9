"""Which tasks each variant resolved, as an SVG heat map: tasks (columns) sorted by how often they
are solved, variants (rows) along the best path first, then by score. Each row is a group
naming its variant and its cells are drawn as one path per kind; the page finds a clicked cell's
task from where the click fell (the figure carries its cell size and left edge)."""

from __future__ import annotations

from collections import Counter, defaultdict

from archive.db import HELDOUT_STAGE, VERIFICATION_STAGE
from dgm.report.data import Evaluation, ReportData
from dgm.report.svg import document, esc

CELL, LEFT = 13, 96
CHAR = 6  # px a character of the 10px labels takes, at most
STYLE = ("#matrix .c{stroke:#fff;stroke-width:1}#matrix .r{fill:#1a9850}#matrix .u{fill:#f4a582}"
         "#matrix .p{fill:#fee08b}#matrix .h{stroke:#555;stroke-width:1.5}#matrix .reused{fill:#fff;stroke:#555}"
         "#matrix .bg{fill:#f3f3f3}#matrix .row.on-path text{fill:#d6336c;font-weight:700}"
         "#matrix text{font:10px system-ui,sans-serif;fill:#333}#matrix .c{cursor:pointer}")


def _drawn(data: ReportData) -> list[Evaluation]:
    """The evaluations the matrix shows: a child's verification tries are not scores, so not here."""
    return [e for e in data.evaluations if e.stage != VERIFICATION_STAGE]


def columns(data: ReportData) -> list[str]:
    """Training tasks by how often they were solved (most first), then the held-out tasks."""
    solved: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    heldout = set()
    for e in _drawn(data):
        runs[e.task_id] += 1
        solved[e.task_id] += bool(e.resolved)
        if e.stage == HELDOUT_STAGE:
            heldout.add(e.task_id)
    return sorted(runs, key=lambda t: (t in heldout, -solved[t], -runs[t], t))


def rows(data: ReportData) -> list[str]:
    """Variants that were evaluated: the best path from the root first, then by score, best first."""
    evaluated = {e.variant_id for e in _drawn(data)}
    path = [v for v in data.best_path if v in evaluated]
    rest = sorted((v for v in data.variants if v.id in evaluated and v.id not in path),
                  key=lambda v: (-(v.score or 0.0), v.step, v.id))
    return path + [v.id for v in rest]


def _cell_class(e: Evaluation) -> str:
    held = " h" if e.stage == HELDOUT_STAGE else ""
    if e.status != "done":
        return "p" + held
    return ("r" if e.resolved else "u") + held


def _squares(cells: list[tuple[float, float]], size: float) -> str:
    """Many cells as one path: a page of thousands of evaluations stays small."""
    return "".join(f"M{x:g},{y:g}h{size:g}v{size:g}h-{size:g}z" for x, y in cells)


def matrix_svg(data: ReportData) -> str:
    cols, order = columns(data), rows(data)
    col_index = {t: i for i, t in enumerate(cols)}
    heldout = {e.task_id for e in data.evaluations if e.stage == HELDOUT_STAGE}
    by_variant: dict[str, list[Evaluation]] = defaultdict(list)
    for e in _drawn(data):
        by_variant[e.variant_id].append(e)
    on_path = set(data.best_path)
    labels = [f'{task[:28]}{" (held out)" if task in heldout else ""}' for task in cols]
    # the column labels slant up and right at 60°: room above for the longest, and right of the last
    top = 30 + round(0.87 * CHAR * max(map(len, labels), default=0))
    width = LEFT + CELL * max(1, len(cols)) + 20 + (0.5 * CHAR * len(labels[-1]) if labels else 0)
    height = top + CELL * max(1, len(order)) + 60
    body = [f'<rect class="bg" x="{LEFT}" y="{top}" width="{CELL * len(cols)}" height="{CELL * len(order)}"/>']
    if not order:
        body.append(f'<text x="{LEFT}" y="{top - 20}">no evaluation yet</text>')
    for i, label in enumerate(labels):
        x = LEFT + i * CELL + CELL / 2 + 3
        body.append(f'<text x="{x}" y="{top - 6}" transform="rotate(-60 {x} {top - 6})">{esc(label)}</text>')
    for j, variant in enumerate(order):
        y = top + j * CELL
        groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for e in by_variant[variant]:
            x = LEFT + col_index[e.task_id] * CELL
            groups[_cell_class(e)].append((x, y))
            if e.reused:
                groups["reused"].append((x + CELL / 2 - 2, y + CELL / 2 - 2))
        paths = "".join(f'<path class="c {cls}" d="{_squares(cells, 4 if cls == "reused" else CELL)}"/>'
                        for cls, cells in sorted(groups.items()))
        body.append(f'<g class="row{" on-path" if variant in on_path else ""}" data-v="{esc(variant)}">'
                    f'<text x="{LEFT - 6}" y="{y + CELL - 3}" text-anchor="end">{esc(variant[:14])}</text>{paths}</g>')
    y = top + CELL * len(order) + 22
    legend = [("r", "resolved"), ("u", "unresolved"), ("p", "pending or running"), ("bg", "not run")]
    x = LEFT
    for cls, label in legend:
        body.append(f'<rect class="c {cls}" x="{x}" y="{y}" width="{CELL}" height="{CELL}"/>'
                    f'<text x="{x + CELL + 4}" y="{y + 10}">{label}</text>')
        x += CELL + 14 + 6 * len(label)
    body.append(f'<rect class="c u h" x="{x}" y="{y}" width="{CELL}" height="{CELL}"/>'
                f'<text x="{x + CELL + 4}" y="{y + 10}">held-out task</text>')
    x += CELL + 90
    reused = "reused from an earlier run"
    body.append(f'<rect class="c bg" x="{x}" y="{y}" width="{CELL}" height="{CELL}"/>'
                f'<path class="c reused" d="{_squares([(x + CELL / 2 - 2, y + CELL / 2 - 2)], 4)}"/>'
                f'<text x="{x + CELL + 4}" y="{y + 10}">{reused}</text>')
    legend_end = x + CELL + 4 + CHAR * len(reused) + 10
    body.append(f'<text x="{LEFT}" y="{y + 34}">rows: variants, best path first (highlighted), then by score; '
                f'columns: tasks, most often solved first</text>')
    return document("matrix", max(width, legend_end), height + 24, "".join(body), STYLE,
                    f"task by variant matrix: {len(order)} variants, {len(cols)} tasks",
                    f'data-cell="{CELL}" data-left="{LEFT}" ')

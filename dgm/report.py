"""`dgm report`: one self-contained HTML file (inline SVG, a few KB of plain JavaScript, no
network) with the lineage tree, score and cost over steps, and every node's details on click."""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Sequence
from pathlib import Path

from dgm.run_view import VariantView, best_variant, path_to, progress_by_step

TEMPLATE = Path(__file__).with_name("report_template.html")
X_GAP, Y_GAP, MARGIN = 46, 70, 30


def tree_layout(variants: Sequence[VariantView]) -> dict[str, tuple[float, float]]:
    """Leaves in depth-first order along x, parents centred over their children, depth along y."""
    children: dict[str | None, list[str]] = {}
    for v in sorted(variants, key=lambda v: (v.step, v.id)):
        children.setdefault(v.parent_id, []).append(v.id)
    known = {v.id for v in variants}
    roots = [v.id for v in variants if v.parent_id is None or v.parent_id not in known]
    pos: dict[str, tuple[float, float]] = {}
    next_x = [0]

    def place(node: str, depth: int) -> float:
        kids = children.get(node, [])
        if kids:
            xs = [place(k, depth + 1) for k in kids]
            x = (xs[0] + xs[-1]) / 2
        else:
            x = next_x[0]
            next_x[0] += 1
        pos[node] = (MARGIN + x * X_GAP, MARGIN + depth * Y_GAP)
        return x

    for root in roots:
        place(root, 0)
    return pos


def score_colour(score: float | None) -> str:
    if score is None:
        return "#bbbbbb"
    hue = round(120 * max(0.0, min(1.0, score)))  # red (0) to green (1)
    return f"hsl({hue}, 70%, 45%)"


def _polyline(values: list[float], width: int, height: int, top: float) -> str:
    if not values:
        return ""
    step = width / max(1, len(values) - 1)
    top = top or 1.0
    return " ".join(f"{i * step:.1f},{height - (v / top) * height:.1f}" for i, v in enumerate(values))


def render_report(variants: Sequence[VariantView], title: str) -> str:
    pos = tree_layout(variants)
    best = best_variant(variants)
    best_path = set(path_to(variants, best.id if best else None))
    by_id = {v.id: v for v in variants}
    edges, nodes = [], []
    for v in variants:
        x, y = pos[v.id]
        if v.parent_id in pos:
            px, py = pos[v.parent_id]
            cls = "edge best" if v.id in best_path and v.parent_id in best_path else "edge"
            edges.append(f'<line class="{cls}" x1="{px}" y1="{py}" x2="{x}" y2="{y}"/>')
        failed = v.status == "failed"
        mark = (f'<path class="fail" d="M{x-6},{y-6}L{x+6},{y+6}M{x+6},{y-6}L{x-6},{y+6}"/>' if failed else "")
        ring = " best" if v.id in best_path else ""
        nodes.append(
            f'<g class="node{ring}" data-id="{html.escape(v.id)}"><circle cx="{x}" cy="{y}" r="13" '
            f'fill="{score_colour(None if failed else v.score)}"/>{mark}'
            f'<text x="{x}" y="{y + 27}">{html.escape(v.id[:8])}</text></g>'
        )
    width = max((p[0] for p in pos.values()), default=0) + 2 * MARGIN
    height = max((p[1] for p in pos.values()), default=0) + 2 * MARGIN
    points = progress_by_step(variants)
    chart_w, chart_h = 420, 140
    top_cost = max((p.cost for p in points), default=0.0)
    data = {v.id: dataclasses.asdict(v) for v in variants}
    page = TEMPLATE.read_text()
    for key, value in {
        "TITLE": html.escape(title),
        "SUMMARY": html.escape(
            f"{len(variants)} variants, {sum(v.status == 'failed' for v in by_id.values())} failed; "
            f"best: {best.id} (score {best.score:.2f} on stage {best.stage})" if best else
            f"{len(variants)} variants; none scored yet"
        ),
        "TREE_W": f"{width:.0f}", "TREE_H": f"{height:.0f}",
        "EDGES": "\n".join(edges), "NODES": "\n".join(nodes),
        "CHART_W": str(chart_w), "CHART_H": str(chart_h),
        "BEST_LINE": _polyline([p.best for p in points], chart_w, chart_h, 1.0),
        "MEAN_LINE": _polyline([p.mean for p in points], chart_w, chart_h, 1.0),
        "COST_LINE": _polyline([p.cost for p in points], chart_w, chart_h, top_cost),
        "STEPS": str(len(points)), "TOP_COST": f"{top_cost:.4f}",
        # "</" cannot end the script element early once escaped this way.
        "DATA": json.dumps(data).replace("</", "<\\/"),
    }.items():
        page = page.replace("{{" + key + "}}", value)
    return page


def write_report(variants: Sequence[VariantView], title: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(render_report(variants, title))
    tmp.replace(out)
    return out

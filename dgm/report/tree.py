"""The lineage tree as SVG: nodes coloured by score on a labelled scale, sized by the stage they
reached, failed children crossed out with their reason on hover, the best path highlighted. The
tree sits in a `viewport` group the page pans and zooms; the legend stays put."""

from __future__ import annotations

from collections.abc import Sequence

from dgm.report.data import ReportData
from dgm.report.svg import document, esc, score_colour, score_legend
from dgm.run_view import VariantView

X_GAP, Y_GAP, MARGIN, LEGEND_H = 38, 64, 30, 78  # X_GAP: room for a label like "v150-2"
BEST = "#d6336c"
STYLE = (f"#tree .edge{{stroke:#9a9a9a;stroke-width:1.3;fill:none}}#tree .edge.best{{stroke:{BEST};stroke-width:4}}"
         f"#tree .node circle{{stroke:#333;stroke-width:1}}#tree .node.best-path circle{{stroke:{BEST};stroke-width:3.5}}"
         f"#tree .node.best circle{{stroke-width:6}}#tree .node.selected circle{{stroke:#0060df;stroke-width:4}}"
         "#tree .node{cursor:pointer}#tree .node text{font:10px system-ui,sans-serif;text-anchor:middle;fill:#333}"
         "#tree .fail{stroke:#b00020;stroke-width:2.5}")


def radius(stage: int) -> float:
    """Bigger for each stage a variant got through (0: not evaluated)."""
    return 6.0 + 3.0 * min(stage, 4)


def tree_layout(variants: Sequence[VariantView]) -> dict[str, tuple[float, float]]:
    """Leaves in depth-first order along x, parents centred over their children, depth along y."""
    children: dict[str | None, list[str]] = {}
    for v in sorted(variants, key=lambda v: (v.step, v.id)):
        children.setdefault(v.parent_id, []).append(v.id)
    known = {v.id for v in variants}
    roots = [v.id for v in sorted(variants, key=lambda v: (v.step, v.id))
             if v.parent_id is None or v.parent_id not in known]
    pos: dict[str, tuple[float, float]] = {}
    next_x = 0

    def place(node: str, depth: int) -> float:
        nonlocal next_x
        kids = children.get(node, [])
        if kids:
            xs = [place(k, depth + 1) for k in kids]
            x = (xs[0] + xs[-1]) / 2
        else:
            x, next_x = next_x, next_x + 1
        pos[node] = (MARGIN + x * X_GAP, LEGEND_H + MARGIN + depth * Y_GAP)
        return x

    for root in roots:
        place(root, 0)
    return pos


def _hover(v: VariantView) -> str:
    if v.status == "failed":
        return f"{v.id} failed: {v.fail_reason or 'no reason recorded'}"
    score = "not scored" if v.score is None else f"score {v.score:.2f} on stage {v.stage}"
    held = "" if v.heldout_score is None else f", held-out {v.heldout_score:.2f}"
    return f"{v.id} ({v.status}): {score}{held}"


def _legend(data: ReportData) -> str:
    stages = max((v.stage for v in data.variants), default=0)
    sizes = "".join(f'<circle cx="{320 + 34 * s}" cy="{30}" r="{radius(s)}" fill="#fff" stroke="#333"/>'
                    f'<text x="{320 + 34 * s}" y="{62}" text-anchor="middle">{s}</text>'
                    for s in range(min(stages, 4) + 1))
    x = 350 + 34 * min(stages, 4)
    return (f'<g class="axis legend">{score_legend("tree", 12, 24, 160, "score (largest stage completed)")}'
            f'<text class="title" x="306" y="12">stages passed</text>{sizes}'
            f'<path class="edge best" d="M{x},36h30"/>'
            f'<text x="{x + 36}" y="40">best path</text>'
            f'<path class="fail" d="M{x + 110},30L{x + 122},42M{x + 122},30L{x + 110},42"/>'
            f'<text x="{x + 128}" y="40">failed (hover: why)</text></g>')


def tree_svg(data: ReportData) -> str:
    variants = data.variants
    pos = tree_layout(variants)
    on_path = set(data.best_path)
    edges, nodes = [], []
    for v in variants:
        x, y = pos[v.id]
        if v.parent_id in pos:
            px, py = pos[v.parent_id]
            best = v.id in on_path and v.parent_id in on_path
            mid = (py + y) / 2
            edges.append(f'<path class="edge{" best" if best else ""}" d="M{px},{py}C{px},{mid} {x},{mid} {x},{y}"/>')
        failed = v.status == "failed"
        r = radius(v.stage)
        classes = "node" + (" best-path" if v.id in on_path else "") + (" best" if v.id == data.best_id else "")
        cross = (f'<path class="fail" d="M{x - r},{y - r}L{x + r},{y + r}M{x + r},{y - r}L{x - r},{y + r}"/>'
                 if failed else "")
        nodes.append(f'<g class="{classes}" data-id="{esc(v.id)}"><title>{esc(_hover(v))}</title>'
                     f'<circle cx="{x}" cy="{y}" r="{r}" fill="{score_colour(None if failed else v.score)}"/>'
                     f'{cross}<text x="{x}" y="{y + r + 11}">{esc(v.id[:10])}</text></g>')
    width = max(620.0, max((p[0] for p in pos.values()), default=0) + MARGIN)
    height = max((p[1] for p in pos.values()), default=LEGEND_H) + 2 * MARGIN
    body = (_legend(data) + f'<g class="viewport" data-width="{width:.0f}" data-height="{height:.0f}" data-top="{LEGEND_H}">'
            + "".join(edges) + "".join(nodes) + "</g>")
    return document("tree", width, height, body, STYLE, f"lineage tree of {len(variants)} variants")

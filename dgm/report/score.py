"""Score over steps as SVG: best-so-far and archive mean as lines, every child as a point (hover:
id, score, stage), the held-out score of the variants that have one, on labelled axes."""

from __future__ import annotations

from collections import defaultdict

from dgm.report.data import ReportData
from dgm.report.svg import Frame, axes, document, esc, nice_ticks
from dgm.run_view import progress_by_step

WIDTH, HEIGHT = 640, 330
BEST_COLOUR, MEAN_COLOUR, CHILD_COLOUR, HELD_COLOUR = "#1b7837", "#2166ac", "#6b6b6b", "#e08214"
STYLE = (f"#score .best{{stroke:{BEST_COLOUR};stroke-width:3.5;fill:none}}"
         f"#score .mean{{stroke:{MEAN_COLOUR};stroke-width:2;stroke-dasharray:6 4;fill:none}}"
         f"#score .child{{fill:{CHILD_COLOUR};fill-opacity:.75}}#score .child.on-path{{fill:#d6336c;fill-opacity:1}}"
         f"#score .heldout{{fill:{HELD_COLOUR};stroke:#7a4400}}#score .legend text{{font:11px system-ui,sans-serif}}")


def _steps_line(frame: Frame, points: list[tuple[float, float]]) -> str:
    """A staircase: a best-so-far value holds until the step that changes it."""
    if not points:
        return ""
    path = [f"M{frame.x(points[0][0])},{frame.y(points[0][1])}"]
    for (_, previous), (step, value) in zip(points, points[1:]):
        path.append(f"H{frame.x(step)}V{frame.y(value)}" if value != previous else f"H{frame.x(step)}")
    return " ".join(path)


def score_svg(data: ReportData) -> str:
    progress = progress_by_step(data.variants)
    last_step = max((p.step for p in progress), default=0)
    xticks = nice_ticks(0, max(1, last_step), min(10, max(1, last_step)))
    frame = Frame(70, 44, WIDTH - 100, HEIGHT - 100, 0, xticks[-1], 0.0, 1.0)
    body = [axes(frame, xticks, [0, 0.25, 0.5, 0.75, 1.0], "step", "score (fraction of stage tasks resolved)",
                 xfmt=lambda v: f"{v:.0f}", yfmt=lambda v: f"{v:g}")]
    best = [(p.step, p.best) for p in progress]
    mean = " ".join(f"{'M' if i == 0 else 'L'}{frame.x(p.step)},{frame.y(p.mean)}" for i, p in enumerate(progress))
    body.append(f'<path class="best" d="{_steps_line(frame, best)}"/>')
    body.append(f'<path class="mean" d="{mean}"/>')
    on_path = set(data.best_path)
    by_step: dict[int, list] = defaultdict(list)
    for v in data.variants:
        if v.status == "admitted" and v.score is not None:
            by_step[v.step].append(v)
    points, diamonds = [], []  # diamonds first: a point on the same score stays visible on top
    for step, scored in sorted(by_step.items()):
        for i, v in enumerate(scored):
            x = frame.x(step) + (i - (len(scored) - 1) / 2) * min(6.0, 30.0 / len(scored))
            points.append(f'<circle class="child{" on-path" if v.id in on_path else ""}" data-id="{esc(v.id)}" '
                          f'cx="{x:.1f}" cy="{frame.y(v.score)}" r="4.5"><title>{esc(v.id)}: score {v.score:.2f} '
                          f'on stage {v.stage}</title></circle>')
            if v.heldout_score is not None:
                hx, hy = x, frame.y(v.heldout_score)
                diamonds.append(f'<path class="heldout" data-id="{esc(v.id)}" d="M{hx:.1f},{hy - 6}L{hx + 6:.1f},{hy}'
                                f'L{hx:.1f},{hy + 6}L{hx - 6:.1f},{hy}Z"><title>{esc(v.id)}: held-out score '
                                f'{v.heldout_score:.2f}</title></path>')
    body += diamonds + points
    legend = [("best", "line", "best so far"), ("mean", "line", "archive mean"), ("child", "dot", "child"),
              ("child on-path", "dot", "on the best path"),
              ("heldout", "diamond", "held-out score")]
    x = frame.left
    items = []
    for cls, shape, label in legend:
        mark = (f'<line class="{cls}" x1="{x}" x2="{x + 26}" y1="18" y2="18"/>' if shape == "line" else
                f'<circle class="{cls}" cx="{x + 13}" cy="18" r="4.5"/>' if shape == "dot" else
                f'<path class="{cls}" d="M{x + 13},12L{x + 19},18L{x + 13},24L{x + 7},18Z"/>')
        items.append(f'{mark}<text x="{x + 32}" y="22">{label}</text>')
        x += 36 + 6 * len(label)  # five entries fit the figure's width
    body.append(f'<g class="legend">{"".join(items)}</g>')
    return document("score", WIDTH, HEIGHT, "".join(body), STYLE, "score over steps")

"""Cost as SVG: dollars per child split by kind (diagnosis, self-modification, evaluation; tokens
on hover), and cumulative spend over wall-clock time against the run's budget."""

from __future__ import annotations

from dgm.report.data import KINDS, ReportData
from dgm.report.svg import Frame, axes, document, esc, nice_ticks

WIDTH, PANEL_H = 640, 260
BUDGET_SHARE = 0.2  # the budget line is drawn once the spend reaches this share of it
COLOURS = {"diagnose": "#8073ac", "self_modify": "#e08214", "evaluation": "#2166ac"}
LABELS = {"diagnose": "diagnosis", "self_modify": "self-modification", "evaluation": "evaluation"}
STYLE = ("#cost .spend{stroke:#1b7837;stroke-width:2.5;fill:none}#cost .budget{stroke:#b00020;stroke-width:1.5;"
         "stroke-dasharray:7 4}#cost .note{font:12px system-ui,sans-serif;fill:#333}"
         "#cost .legend text{font:11px system-ui,sans-serif}")


def _money(value: float) -> str:
    return f"${value:.2g}" if 0 < abs(value) < 0.01 else f"${value:,.2f}"


def _tick(value: float) -> str:
    return f"${value:g}"


def _per_child(data: ReportData, top: float) -> str:
    children = [v for v in sorted(data.variants, key=lambda v: (v.step, v.created, v.id)) if v.parent_id]
    peak = max((data.costs[v.id].total for v in children if v.id in data.costs), default=0.0)
    yticks = nice_ticks(0.0, peak or 1.0, 4)
    frame = Frame(80, top + 44, WIDTH - 110, PANEL_H - 100, 0, max(1, len(children)), 0.0, yticks[-1])
    parts = [axes(frame, [], yticks, f"children in order of creation ({len(children)})", "dollars", yfmt=_tick)]
    bar = max(1.0, frame.width / max(1, len(children)) - 1)
    for i, v in enumerate(children):
        cost = data.costs.get(v.id)
        if cost is None:
            continue
        base = 0.0
        hover = [f"{v.id}: {_money(cost.total)}, {cost.tokens:,} tokens"] + [
            f"{LABELS[k]}: {_money(cost.dollars[k])}, {cost.prompt_tokens[k]:,} in / "
            f"{cost.completion_tokens[k]:,} out ({cost.cached_tokens[k]:,} cached)" for k in KINDS]
        segments = []
        for kind in KINDS:
            value = cost.dollars[kind]
            if value <= 0:
                continue
            y_top, y_base = frame.y(base + value), frame.y(base)
            segments.append(f'<rect x="{frame.x(i):.1f}" y="{y_top}" width="{bar:.1f}" '
                            f'height="{max(0.5, y_base - y_top):.1f}" fill="{COLOURS[kind]}"/>')
            base += value
        parts.append(f'<g class="bar" data-id="{esc(v.id)}"><title>{esc(chr(10).join(hover))}</title>'
                     + "".join(segments) + "</g>")
    x = frame.left
    items = []
    for kind in KINDS:
        items.append(f'<rect x="{x}" y="{top + 8}" width="12" height="12" fill="{COLOURS[kind]}"/>'
                     f'<text x="{x + 16}" y="{top + 18}">{LABELS[kind]}</text>')
        x += 40 + 7 * len(LABELS[kind])
    parts.append(f'<g class="legend">{"".join(items)}</g>')
    return "".join(parts)


def _over_time(data: ReportData, top: float) -> str:
    points = list(data.spend)
    start = points[0].time if points else 0.0
    minutes = [(p.time - start) / 60 for p in points]
    spent = points[-1].spent if points else 0.0
    # a budget far above the spend would flatten the line to the axis: the scale then ends at the
    # spend, and the budget is named at the top instead of drawn
    budget_drawn = bool(data.budget) and (not points or spent >= BUDGET_SHARE * data.budget)
    ceiling = (max(spent, data.budget) if budget_drawn else spent) or 1.0
    xticks = nice_ticks(0.0, max(minutes, default=0.0) or 1.0, 6)
    yticks = nice_ticks(0.0, ceiling, 4)
    frame = Frame(80, top + 20, WIDTH - 110, PANEL_H - 80, 0.0, xticks[-1], 0.0, yticks[-1])
    parts = [axes(frame, xticks, yticks, "wall-clock minutes since the first model call", "dollars spent",
                  xfmt=lambda v: f"{v:g}", yfmt=_tick)]
    if points:
        path = " ".join(f"{'M' if i == 0 else 'L'}{frame.x(m)},{frame.y(p.spent)}"
                        for i, (m, p) in enumerate(zip(minutes, points)))
        parts.append(f'<path class="spend" d="{path}"><title>{_money(spent)} spent</title></path>')
    else:
        parts.append(f'<text class="note" x="{frame.left + 12}" y="{frame.top + frame.height / 2}">no model calls '
                     f'(the run used no model, or none was priced)</text>')
    if budget_drawn:
        y = frame.y(data.budget)
        parts.append(f'<line class="budget" x1="{frame.left}" x2="{frame.left + frame.width}" y1="{y}" y2="{y}"/>'
                     f'<text class="note" x="{frame.left + frame.width - 4}" y="{y - 5}" text-anchor="end">'
                     f'budget {_money(data.budget)}</text>')
    elif data.budget:
        parts.append(f'<text class="note budget-above" x="{frame.left + frame.width - 4}" y="{frame.top - 6}" '
                     f'text-anchor="end">budget {_money(data.budget)}, above this scale: '
                     f'{100 * spent / data.budget:.2g} % spent</text>')
    return "".join(parts)


def cost_svg(data: ReportData) -> str:
    total = sum(c.total for c in data.costs.values())
    tokens = sum(c.tokens for c in data.costs.values())
    # two lines: as one, the sentence ran past the figure's right edge
    note = (f'<text class="note" x="80" y="{2 * PANEL_H + 14}">total {_money(total)}, {tokens:,} tokens</text>'
            f'<text class="note" x="80" y="{2 * PANEL_H + 32}">evaluations saved by early stops at stage gates: '
            f'{data.saved_by_early_stops}, by failed verification: {data.saved_by_verification}</text>')
    body = _per_child(data, 0) + _over_time(data, PANEL_H) + note
    return document("cost", WIDTH, 2 * PANEL_H + 44, body, STYLE, "cost per child and over time")

"""The pieces every figure is drawn with: a plot frame with labelled axes and ticks, a score
colour scale with its legend, and a standalone SVG document (each figure carries its own style,
so the same text is inlined in the page and written alone for a paper)."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FONT = "font-family:system-ui,Helvetica,Arial,sans-serif"
# viridis at 0, .25, .5, .75, 1: ordered in lightness and readable with colour-blindness
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
UNSCORED = "#c8c8c8"
AXIS_STYLE = (f".axis line,.axis path{{stroke:#444;stroke-width:1}}.axis text{{{FONT};font-size:11px;fill:#333}}"
              f".axis .title{{font-size:12px;font-weight:600}}.grid line{{stroke:#e6e6e6;stroke-width:1}}")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def score_colour(score: float | None) -> str:
    if score is None:
        return UNSCORED
    at = max(0.0, min(1.0, score)) * (len(VIRIDIS) - 1)
    i = min(int(at), len(VIRIDIS) - 2)
    t = at - i
    r, g, b = (round(a + (b - a) * t) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1]))
    return f"#{r:02x}{g:02x}{b:02x}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart): the first at or
    below lo, the last at or above hi, so a frame spanning them holds every value."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    steps = math.ceil((hi - first) / step - 1e-9)
    return [round(first + i * step, 12) for i in range(steps + 1)]


@dataclass(frozen=True)
class Frame:
    """A plot area inside a figure: data ranges mapped to pixels (y grows upwards)."""

    left: float
    top: float
    width: float
    height: float
    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, value: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return round(self.left + (value - self.x0) / span * self.width, 1)

    def y(self, value: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return round(self.top + self.height - (value - self.y0) / span * self.height, 1)


def axes(frame: Frame, xticks: Sequence[float], yticks: Sequence[float], xlabel: str, ylabel: str,
         xfmt: Callable[[float], str] = lambda v: f"{v:g}", yfmt: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    """Both axes with ticks, tick labels, titles and a light grid."""
    bottom, left = frame.top + frame.height, frame.left
    parts = ['<g class="grid">']
    parts += [f'<line x1="{left}" x2="{left + frame.width}" y1="{frame.y(t)}" y2="{frame.y(t)}"/>' for t in yticks]
    parts.append('</g><g class="axis x-axis">')
    parts.append(f'<line x1="{left}" x2="{left + frame.width}" y1="{bottom}" y2="{bottom}"/>')
    for t in xticks:
        x = frame.x(t)
        parts.append(f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 5}"/>'
                     f'<text x="{x}" y="{bottom + 17}" text-anchor="middle">{esc(xfmt(t))}</text>')
    parts.append(f'<text class="title" x="{left + frame.width / 2}" y="{bottom + 34}" text-anchor="middle">'
                 f'{esc(xlabel)}</text></g><g class="axis y-axis">')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{frame.top}" y2="{bottom}"/>')
    for t in yticks:
        y = frame.y(t)
        parts.append(f'<line x1="{left - 5}" x2="{left}" y1="{y}" y2="{y}"/>'
                     f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{esc(yfmt(t))}</text>')
    cy = frame.top + frame.height / 2
    parts.append(f'<text class="title" x="{left - 56}" y="{cy}" text-anchor="middle" '
                 f'transform="rotate(-90 {left - 56} {cy})">{esc(ylabel)}</text></g>')
    return "".join(parts)


def score_legend(key: str, x: float, y: float, width: float = 160, label: str = "score") -> str:
    """A labelled colour bar for `score_colour`, with ticks at 0, .25, .5, .75, 1; `key` makes its
    gradient's id unique in a page holding several figures."""
    stops = "".join(f'<stop offset="{i / (len(VIRIDIS) - 1):g}" stop-color="{score_colour(i / (len(VIRIDIS) - 1))}"/>'
                    for i in range(len(VIRIDIS)))
    ticks = "".join(
        f'<line x1="{x + width * t}" x2="{x + width * t}" y1="{y + 12}" y2="{y + 16}"/>'
        f'<text x="{x + width * t}" y="{y + 28}" text-anchor="middle">{t:g}</text>'
        for t in (0, 0.25, 0.5, 0.75, 1))
    return (f'<g class="axis legend scale"><defs><linearGradient id="{key}-scale">{stops}</linearGradient></defs>'
            f'<text class="title" x="{x}" y="{y - 4}">{esc(label)}</text>'
            f'<rect x="{x}" y="{y}" width="{width}" height="12" fill="url(#{key}-scale)" stroke="#444"/>{ticks}'
            f'<rect x="{x + width + 14}" y="{y}" width="12" height="12" fill="{UNSCORED}" stroke="#444"/>'
            f'<text x="{x + width + 30}" y="{y + 10}">not scored</text></g>')


def document(figure_id: str, width: float, height: float, body: str, style: str, label: str, attrs: str = "") -> str:
    """One standalone SVG: its own style, a title for screen readers, a viewBox to scale by;
    `attrs` (data-* attributes) tell the page's script what it needs of the figure."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" id="{figure_id}" class="figure" role="img" {attrs}'
            f'aria-label="{esc(label)}" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}"><title>{esc(label)}</title>'
            f'<style>{AXIS_STYLE}{style}</style>{body}</svg>')

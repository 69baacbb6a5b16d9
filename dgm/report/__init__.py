"""`dgm report`: one self-contained HTML file (inline SVG drawn in Python, a few KB of plain
JavaScript, no network) with the lineage tree, score over steps, the task × variant matrix, cost,
and every node's details on click; the same figures as standalone SVG files, and the data as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from dgm.report.cost import cost_svg
from dgm.report.data import ReportData, as_json, report_data
from dgm.report.matrix import columns, matrix_svg
from dgm.report.score import score_svg
from dgm.report.svg import esc
from dgm.report.tree import tree_svg

__all__ = ["ReportData", "report_data", "render_report", "write_report", "write_svgs", "write_json"]

TEMPLATE = Path(__file__).with_name("template.html")
DIFF_CAP = 60_000  # characters of one variant's diff kept in the page (`dgm show` has it whole)
FIGURES = {"tree": tree_svg, "score": score_svg, "matrix": matrix_svg, "cost": cost_svg}


def _summary(data: ReportData) -> str:
    variants = data.variants
    failed = sum(v.status == "failed" for v in variants)
    best = next((v for v in variants if v.id == data.best_id), None)
    spent = sum(c.total for c in data.costs.values())
    parts = [f"{len(variants)} variants ({failed} failed)"]
    if best is not None:
        held = "" if best.heldout_score is None else f", held-out {best.heldout_score:.2f}"
        parts.append(f"best {best.id}: score {best.score:.2f} on stage {best.stage}{held}")
    else:
        parts.append("none scored yet")
    parts.append(f"spent ${spent:.4f}" + (f" of ${data.budget:g}" if data.budget else ""))
    parts.append(f"{sum(e.status == 'done' for e in data.evaluations)} evaluations, "
                 f"{data.saved_by_early_stops} saved by early stops, {data.saved_by_verification} by verification")
    return " · ".join(parts)


def _page_data(data: ReportData) -> dict:
    """What the page's script needs, compact enough for hundreds of variants: each variant with
    its diff (capped), its evaluations as rows of numbers and indices into one string table."""
    record = as_json(data)
    for v in record["variants"]:
        v.pop("results")  # the evaluations below say it, with more
        if len(v["diff"]) > DIFF_CAP:
            v["diff"] = v["diff"][:DIFF_CAP] + f"\n... (cut at {DIFF_CAP:,} characters: `dgm show` has it whole)\n"
    cols = columns(data)  # the matrix's, then keys it does not draw (verification tries)
    cols += sorted({e.task_id for e in data.evaluations} - set(cols))
    col_index = {t: i for i, t in enumerate(cols)}
    strings: dict[str, int] = {"": 0}

    def intern(text: str) -> int:
        return strings.setdefault(text, len(strings))

    rows: dict[str, list] = {}
    for e in data.evaluations:
        default_logs = str(Path(data.run_dir) / "logs" / e.variant_id / e.task_id)
        rows.setdefault(e.variant_id, []).append([
            col_index[e.task_id], e.stage, intern(e.status), None if e.resolved is None else int(e.resolved),
            intern(e.agent_exit), intern(e.reason), None if e.duration is None else round(e.duration, 1),
            round(e.cost, 6), int(e.reused), intern({default_logs: "", "": "-"}.get(e.log_dir, e.log_dir))])
    record |= {"evaluations": rows, "columns": cols, "strings": list(strings)}
    record.pop("spend")
    return record


def render_report(data: ReportData) -> str:
    values = {"TITLE": esc(data.title), "SUMMARY": esc(_summary(data)),
              # "</" cannot end the script element early once escaped this way
              "DATA": json.dumps(_page_data(data)).replace("</", "<\\/")}
    values |= {name.upper(): draw(data) for name, draw in FIGURES.items()}
    page = TEMPLATE.read_text()
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", value)
    return page


def _write(out: Path, text: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    return out


def write_report(data: ReportData, out: Path) -> Path:
    return _write(out, render_report(data))


def write_svgs(data: ReportData, directory: Path) -> list[Path]:
    """tree.svg, score.svg, matrix.svg and cost.svg, each standalone (for a paper)."""
    return [_write(directory / f"{name}.svg", '<?xml version="1.0" encoding="utf-8"?>\n' + draw(data))
            for name, draw in FIGURES.items()]


def write_json(data: ReportData, out: Path) -> Path:
    return _write(out, json.dumps(as_json(data), indent=1))

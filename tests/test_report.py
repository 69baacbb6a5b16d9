"""The HTML report is one self-contained file drawn from a run directory: it renders offline in
Chromium (every request routed to a recording proxy on loopback), shows the lineage with the best
path, score over steps on labelled axes, the task × variant matrix and cost, opens a node's or an
evaluation's details from a link, and stays small for hundreds of variants."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from dgm.report.matrix import rows
from dgm.report.tree import BEST
from dgm.run_dir import open_run, variant_views
from tests.chromium import RecordingProxy, chromium
from tests.generated_run import generated_run
from tests.runs import dgm

PAGE = "--window-size=1400,4200"  # tall enough for every figure in one screenshot


@pytest.fixture()
def proxy():
    recorder = RecordingProxy()
    yield recorder
    recorder.close()


@pytest.fixture(scope="module")
def big_run(tmp_path_factory) -> Path:
    """A 300-variant run, reported with its SVG figures and JSON data."""
    run = generated_run(tmp_path_factory.mktemp("generated") / "run", 300)
    result = dgm("report", str(run), "--svg", str(run / "figures"), "--json")
    assert result.returncode == 0, result.stderr
    return run


def _section(dom: str, element_id: str) -> str:
    return dom.split(f'id="{element_id}"', 1)[1].split("</section>", 1)[0]


def _pixels_like(png: Path, colour: str, box: tuple[int, int, int, int] | None = None, tolerance: int = 24) -> int:
    """How many pixels of the screenshot (or of `box` in it) are within `tolerance` of `colour`."""
    want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    image = Image.open(png).convert("RGB")
    if box is not None:
        image = image.crop(box)
    return sum(count for count, pixel in image.getcolors(image.width * image.height)
               if all(abs(a - b) <= tolerance for a, b in zip(pixel, want)))


def test_the_proxy_would_catch_a_request(tmp_path, proxy):
    page = tmp_path / "leaky.html"
    page.write_text('<img src="http://example.test/pixel.png">')
    chromium(page.as_uri(), proxy, "--dump-dom")
    assert proxy.page_requests == ["GET http://example.test/pixel.png HTTP/1.1"]


def test_a_300_variant_report_is_one_small_file_that_makes_no_request(big_run, proxy):
    page = big_run / "report.html"
    html = page.read_text()
    assert page.stat().st_size < 2_000_000
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    dom = chromium(page.as_uri(), proxy, "--dump-dom", PAGE)
    assert proxy.page_requests == []
    assert dom.count('class="node') == 300


def test_the_screenshot_shows_axes_the_matrix_and_the_best_path(big_run, proxy, tmp_path):
    page = big_run / "report.html"
    dom = chromium(page.as_uri(), proxy, "--dump-dom", PAGE)
    views = variant_views(open_run(big_run))
    data = json.loads((big_run / "report.json").read_text())
    # the lineage: every variant, the best path highlighted edge by edge, its nodes ringed
    tree = _section(dom, "lineage")
    assert len(re.findall(r'class="edge best" d="M[^"]*C', tree)) == len(data["best_path"]) - 1 >= 2
    assert tree.count("node best-path") == len(data["best_path"])
    assert 'class="viewport"' in tree and "transform=\"translate(" in tree  # the script fitted the view
    # score over steps: both axes with ticks, their titles, one point per scored child
    score = dom.split('id="score"', 1)[1].split("</svg>", 1)[0]
    assert 'class="axis x-axis"' in score and 'class="axis y-axis"' in score
    assert ">step</text>" in score and "score (fraction of stage tasks resolved)" in score
    assert all(f">{tick}</text>" in score for tick in ("0", "0.25", "0.5", "0.75", "1"))
    scored = [v for v in views if v.status == "admitted" and v.score is not None]
    assert len(re.findall(r'class="child[^"]*" data-id=', score)) == len(scored)
    assert len(re.findall(r'class="heldout" data-id=', score)) == sum(v.heldout_score is not None for v in scored)
    # the matrix: one row per evaluated variant, best path first
    matrix = _section(dom, "matrix-panel")
    order = re.findall(r'class="row[^"]*" data-v="([^"]+)"', matrix)
    assert order == rows_of(big_run) and order[: len(data["best_path"]) - 1] == data["best_path"][1:]
    assert "@verify" not in matrix  # a child's verification tries are not scores: shown in its panel only
    assert data["saved_by_verification"] == 10 * sum("failed verification" in v["fail_reason"]
                                                     for v in data["variants"]) > 0
    # cost: the budget line and the saved evaluations
    cost = dom.split('id="cost"', 1)[1].split("</svg>", 1)[0]
    assert 'class="budget"' in cost and "budget $25.00" in cost
    assert f"evaluations saved by early stops at stage gates: {data['saved_by_early_stops']}, " in cost
    assert data["saved_by_early_stops"] > 0
    # and what Chromium drew: the best path's colour in the tree, the matrix's resolved cells
    shot = tmp_path / "report.png"
    chromium(page.as_uri(), proxy, f"--screenshot={shot}", PAGE)
    assert _pixels_like(shot, BEST, box=(0, 60, 900, 1200)) > 300
    assert _pixels_like(shot, "#1a9850", box=(0, 3000, 1400, 4200)) > 2000
    assert proxy.page_requests == []


def rows_of(run: Path) -> list[str]:
    from dgm.report import report_data

    return rows(report_data(open_run(run), "t"))


def test_a_linked_node_shows_why_its_diff_per_file_its_diagnosis_cost_and_results(big_run, proxy):
    data = json.loads((big_run / "report.json").read_text())
    best = data["best"]
    dom = chromium((big_run / "report.html").as_uri() + f"#{best}", proxy, "--dump-dom", PAGE)
    details = dom.split('id="details"', 1)[1].split("</aside>", 1)[0]
    assert f"<h2>{best}</h2>" in details
    assert "admitted with score 1.00" in details and "the run's best" in details
    assert "The agent gives up too early" in details
    assert '<details class="file" open=""><summary>agent/loop.py  (+1 −1)</summary>' in details
    assert '<span class="kw">def</span>' in details and '<span class="com"># retry more</span>' in details
    assert "self-modification $0.0500" in details and "40,000 in / 3,000 out, 30,000 cached" in details
    assert details.count('<tr class="clickable">') == sum(e["variant_id"] == best for e in data["evaluations"])


def test_a_linked_matrix_cell_shows_the_agent_exit_grading_reason_and_logs(big_run, proxy):
    data = json.loads((big_run / "report.json").read_text())
    failed = next(e for e in data["evaluations"] if e["status"] == "done" and not e["resolved"] and e["log_dir"])
    url = (big_run / "report.html").as_uri() + f"?variant={failed['variant_id']}&task={failed['task_id']}"
    cell = _section(chromium(url, proxy, "--dump-dom", PAGE), "cell")
    assert f"<h2>{failed['variant_id']} on {failed['task_id']}</h2>" in cell
    assert "<td>unresolved</td>" in cell and f"<td>{failed['agent_exit']}</td>" in cell
    assert "FAIL_TO_PASS test(s) not passing" in cell
    assert f"<td>{failed['log_dir']}/grade</td>" in cell


def test_the_figures_are_standalone_svg_files_and_the_json_is_the_page_data(big_run):
    figures = big_run / "figures"
    for name in ("tree", "score", "matrix", "cost"):
        root = ET.parse(figures / f"{name}.svg").getroot()  # well-formed XML on its own
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox")
        assert root.find("{http://www.w3.org/2000/svg}style") is not None
    data = json.loads((big_run / "report.json").read_text())
    assert len(data["variants"]) == 300 and data["budget"] == 25.0
    assert set(data["costs"][data["best"]]["dollars"]) == {"diagnose", "self_modify", "evaluation"}
    assert data["spend"][-1]["spent"] == pytest.approx(sum(c["total"] for c in data["costs"].values()))


def test_a_diff_cannot_break_out_of_the_page(tmp_path, proxy):
    run = generated_run(tmp_path / "run", 6, seed=3)
    from archive.db import RunDB

    db = RunDB(run / "run.db")
    child = next(r for r in db.variants() if r.parent_id)
    db.update_variant(child.id, diff="--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new</script><img src=x onerror=alert(1)>")
    assert dgm("report", str(run)).returncode == 0
    dom = chromium((run / "report.html").as_uri() + f"#{child.id}", proxy, "--dump-dom")
    details = dom.split('id="details"', 1)[1].split("</aside>", 1)[0]
    assert "new&lt;/script&gt;&lt;img src=x onerror=alert(" in details  # shown as text
    assert "<img" not in details


def test_the_report_of_a_dgm_run_shows_every_node_and_each_evaluations_verdict(evolved_run, tmp_path, proxy):
    run_dir, _ = evolved_run
    result = dgm("report", str(run_dir), "--out", str(tmp_path / "report.html"), "--json")
    assert result.returncode == 0, result.stderr
    views = variant_views(open_run(run_dir))
    dom = chromium((tmp_path / "report.html").as_uri(), proxy, "--dump-dom", PAGE)
    assert dom.count('class="node') == len(views) >= 9
    assert all(f'data-id="{v.id}"' in dom for v in views)
    data = json.loads((tmp_path / "report.json").read_text())
    done = [e for e in data["evaluations"] if e["status"] == "done"]
    assert done and all(e["reason"] for e in done)  # each graded evaluation says why
    assert any(e["reason"] == "resolved" for e in done)
    assert len(re.findall(r'class="row[^"]*" data-v=', dom)) == len({e["variant_id"] for e in data["evaluations"]})
    assert proxy.page_requests == []

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

from archive.db import VERIFICATION_STAGE
from dgm.report.matrix import CELL, rows
from dgm.report.tree import BEST
from dgm.run_dir import open_run, variant_views
from tests.chromium import RecordingProxy, chromium, measure
from tests.generated_run import generated_run
from tests.runs import dgm

PAGE = "--window-size=1400,4200"  # tall enough for every figure (and 200 matrix rows) in one screenshot


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


def _pixels_like(image: Image.Image, colour: str, box: tuple[int, int, int, int] | None = None,
                 tolerance: int = 24) -> int:
    """How many pixels of the screenshot (or of `box` in it) are within `tolerance` of `colour`."""
    want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
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
    failed = [v for v in views if v.status == "failed"]
    assert failed and all(f"<title>{v.id} failed: {v.fail_reason}</title>" in tree for v in failed)  # hover: why
    assert all(f'class="node{" best-path" if v.id in data["best_path"] else ""}{" best" if v.id == data["best"] else ""}" '
               f'data-id="{v.id}"><title>' in tree for v in views)
    # score over steps: both axes with ticks, their titles, one point per scored child
    score = dom.split('id="score"', 1)[1].split("</svg>", 1)[0]
    assert 'class="axis x-axis"' in score and 'class="axis y-axis"' in score
    assert ">step</text>" in score and "score (fraction of stage tasks resolved)" in score
    assert all(f">{tick}</text>" in score for tick in ("0", "0.25", "0.5", "0.75", "1"))
    scored = [v for v in views if v.status == "admitted" and v.score is not None]
    assert len(re.findall(r'class="child[^"]*" data-id=', score)) == len(scored)
    assert len(re.findall(r'class="heldout" data-id=', score)) == sum(v.heldout_score is not None for v in scored)
    assert all(f"<title>{v.id}: score {v.score:.2f} on stage {v.stage}</title>" in score for v in scored)  # hover
    first_point = re.search(r'class="child[^"]*" data-id=', score).start()  # held-out diamonds lie under the
    assert all(m.start() < first_point for m in re.finditer(r'class="heldout" data-id=', score))  # points
    # the matrix: one row per evaluated variant, best path first
    matrix = _section(dom, "matrix-panel")
    order = re.findall(r'class="row[^"]*" data-v="([^"]+)"', matrix)
    assert order == rows_of(big_run) and order[: len(data["best_path"]) - 1] == data["best_path"][1:]
    assert "@verify" not in matrix  # a child's verification tries are not scores: shown in its panel only
    tasks = [t.split(" (held out)")[0] for t in re.findall(r'transform="rotate\(-60[^"]*">([^<]+)</text>', matrix)]
    solved = {t: sum(bool(e["resolved"]) for e in data["evaluations"] if e["task_id"] == t and e["stage"] >= 0)
              for t in tasks if not t.startswith("proj__held")}
    trained = [solved[t] for t in tasks if t in solved]
    assert len(trained) == 30 and trained == sorted(trained, reverse=True)  # most often solved first
    assert data["saved_by_verification"] == 10 * sum("failed verification" in v["fail_reason"]
                                                     for v in data["variants"]) > 0
    # cost: the budget line and the saved evaluations
    cost = dom.split('id="cost"', 1)[1].split("</svg>", 1)[0]
    assert 'class="budget"' in cost and "budget $25.00" in cost
    best_cost = data["costs"][data["best"]]
    assert (f'data-id="{data["best"]}"><title>{data["best"]}: ${best_cost["total"]:,.2f}, '
            f'{best_cost["tokens"]:,} tokens\ndiagnosis: $0.02, 9,000 in / 800 out') in cost  # hover: dollars, tokens
    assert f"evaluations saved by early stops at stage gates: {data['saved_by_early_stops']}, " in cost
    assert data["saved_by_early_stops"] > 0
    # and what Chromium drew, where the page laid it out
    _check_the_screenshot(page, proxy, tmp_path / "report.png", data, order)
    assert proxy.page_requests == []


# Where the page put each figure's parts (page pixels; the screenshot is of the same window).
LAYOUT = """(function () {
  function box(e) { var b = e.getBoundingClientRect();
    return [Math.round(b.left + scrollX), Math.round(b.top + scrollY), Math.round(b.right + scrollX), Math.round(b.bottom + scrollY)]; }
  function boxes(selector) { return Array.from(document.querySelectorAll(selector)).map(box); }
  return { tree: box(document.getElementById("tree")), matrix: box(document.querySelector("#matrix .bg")),
    matrix_panel: box(document.getElementById("matrix-panel")),
    axes: boxes("#score .x-axis > line:first-child, #score .y-axis > line:first-child, #cost .x-axis > line:first-child, #cost .y-axis > line:first-child"),
    on_path: boxes("#tree .node.best-path circle"), off_path: boxes("#tree .node:not(.best-path) circle") };
})()"""


def _check_the_screenshot(page: Path, proxy: RecordingProxy, shot: Path, data: dict, order: list[str]) -> None:
    """The axes are drawn along their whole length, the best path's nodes are ringed in its colour
    (and the others are not), the matrix shows as many resolved cells as the run has, in its rows."""
    layout = measure(page, proxy, LAYOUT, PAGE)
    chromium(page.as_uri(), proxy, f"--screenshot={shot}", PAGE)
    image = Image.open(shot).convert("RGB")
    inked = lambda p: max(p) < 200  # darker than the light grid: an axis line, anti-aliased or not
    assert len(layout["axes"]) == 6  # score; cost per child and over time
    for left, top, right, bottom in layout["axes"]:  # a line's box is one pixel thin
        crop = image.crop((left - 1, top - 1, right + 2, bottom + 2))
        along = [[crop.getpixel((x, y)) for y in range(crop.height)] for x in range(crop.width)]
        if bottom - top > right - left:
            along = [[crop.getpixel((x, y)) for x in range(crop.width)] for y in range(crop.height)]
        assert sum(any(map(inked, line)) for line in along) >= 0.95 * max(right - left, bottom - top)
    tree = layout["tree"]
    visible = [b for b in layout["on_path"] if tree[0] <= b[0] and b[2] <= tree[2] and tree[1] <= b[1] and b[3] <= tree[3]]
    assert len(visible) >= len(data["best_path"]) * 2 // 3
    ringed = [_pixels_like(image, BEST, (b[0] - 1, b[1] - 1, b[2] + 1, b[3] + 1), 40) for b in visible]
    assert min(ringed) >= 5, ringed
    others = sorted(_pixels_like(image, BEST, (b[0] - 1, b[1] - 1, b[2] + 1, b[3] + 1), 40) for b in layout["off_path"]
                    if tree[0] <= b[0] and b[2] <= tree[2] and tree[1] <= b[1] and b[3] <= tree[3])
    assert len(others) > 100 and others[len(others) // 2] == 0
    # the matrix: count the resolved cells of the rows wholly in the screenshot, then their pixels
    left, top, right, _ = layout["matrix"]
    shown = (min(layout["matrix_panel"][3], image.height) - top) // CELL
    drawn = [e for e in data["evaluations"] if e["stage"] != VERIFICATION_STAGE and e["status"] == "done"]
    resolved = sum(e["resolved"] and e["variant_id"] in order[:shown] for e in drawn)
    assert shown >= 100 and resolved >= 1000
    green = _pixels_like(image, "#1a9850", (left, top, right, top + shown * CELL))
    # a cell's 11 x 11 px inside its white edges is pure green (a margin for sub-pixel placement)
    assert 0.8 * (CELL - 2) ** 2 * resolved <= green <= CELL ** 2 * resolved, (green, resolved)


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
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d → \d\d:\d\d:\d\d UTC; \d+ s of evaluation over 35 task\(s\)</td>",
                     details)  # timings: when it was planned and last changed, time spent evaluating
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
    times = [p["time"] for p in data["spend"]]  # the call log interleaves; the spend line goes forward
    assert times == sorted(times) and times != [json.loads(line)["time"] for line in
                                                (big_run / "llm_calls.jsonl").read_text().splitlines()]


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
    assert open_run(run_dir).db().meta("stage_sizes") == data["stage_sizes"] == [2, 4]  # the plan, recorded
    assert proxy.page_requests == []


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]


def test_the_spend_line_and_the_score_points_stay_inside_their_axes(big_run):
    """Ticks end at or past the largest value: the spend line ($180 of a $25 budget here) and the
    last step's points are drawn inside the frame, not past its top or right edge."""
    svg = "{http://www.w3.org/2000/svg}"
    cost = ET.parse(big_run / "figures" / "cost.svg").getroot()
    x_axis = cost.findall(f".//{svg}g[@class='axis x-axis']")[-1].find(f"{svg}line")  # the over-time panel
    y_axis = cost.findall(f".//{svg}g[@class='axis y-axis']")[-1].find(f"{svg}line")
    spend = _numbers(cost.find(f".//{svg}path[@class='spend']").get("d"))
    xs, ys = spend[0::2], spend[1::2]
    assert float(x_axis.get("x1")) <= min(xs) and max(xs) <= float(x_axis.get("x2"))
    assert float(y_axis.get("y1")) <= min(ys) and max(ys) <= float(y_axis.get("y2"))
    score = ET.parse(big_run / "figures" / "score.svg").getroot()
    x_axis = score.find(f".//{svg}g[@class='axis x-axis']").find(f"{svg}line")
    points = [float(c.get("cx")) for c in score.iter(f"{svg}circle") if c.get("data-id")]
    assert len(points) > 200 and max(points) <= float(x_axis.get("x2"))


NO_OVERFLOW = """(function () {
  var out = [];
  document.querySelectorAll("svg.figure").forEach(function (svg) {
    var b = svg.getBoundingClientRect(), seen = [];
    svg.querySelectorAll("text").forEach(function (t) {
      if (t.closest(".viewport")) return;  // the lineage pans; its labels may leave the view
      var r = t.getBoundingClientRect();
      if (!r.width) return;
      if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1)
        out.push(svg.id + ": '" + t.textContent + "' runs past the figure's edge");
      if (svg.id !== "matrix") seen.forEach(function (o) {  // (the matrix's column labels are slanted)
        var q = o[1];
        if (r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1)
          out.push(svg.id + ": '" + t.textContent + "' overlaps '" + o[0] + "'");
      });
      seen.push([t.textContent, r]);
    });
  });
  return out;
})()"""


@pytest.mark.parametrize("variants", [300, 6, 1])  # 1: the seed alone, nothing evaluated or spent yet
def test_no_label_runs_past_its_figure_or_over_another(variants, big_run, tmp_path, proxy):
    """Legends, axis titles and notes as Chromium lays them out: the cost note and the score
    legend once ran past their figure's right edge, the matrix legend past its own."""
    run = big_run if variants == 300 else generated_run(tmp_path / "run", variants, seed=3)
    if variants == 6:  # a real run's task ids: long, and one held out (its column label the longest)
        from archive.db import HELDOUT_STAGE, RunDB

        db = RunDB(run / "run.db")
        for task, stage in (("inflection__dropped_statement__humanize__184", HELDOUT_STAGE),
                            ("inflection__boolean+comparison__pluralize-_irregular__300", 0)):
            db.plan_evaluations("v1-1", [task], stage)
            db.start_evaluation("v1-1", task)
            db.finish_evaluation("v1-1", task, True, 30.0, 0.01, "submitted", "")
    if variants != 300:
        assert dgm("report", str(run)).returncode == 0
    assert measure(run / "report.html", proxy, NO_OVERFLOW, PAGE) == []
    assert proxy.page_requests == []


ZOOM_AND_PAN = """(function () {
  function view() { return (vp.getAttribute("transform").match(/-?\\d+(?:\\.\\d+)?(?:e-?\\d+)?/g) || []).map(Number); }
  var svg = document.getElementById("tree"), vp = svg.querySelector(".viewport"), b = svg.getBoundingClientRect();
  var opened = view();
  svg.dispatchEvent(new WheelEvent("wheel", { deltaY: -100, clientX: b.left + 200, clientY: b.top + 200, bubbles: true, cancelable: true }));
  var zoomed = view();
  svg.dispatchEvent(new PointerEvent("pointerdown", { clientX: b.left + 300, clientY: b.top + 300, bubbles: true }));
  window.dispatchEvent(new PointerEvent("pointermove", { clientX: b.left + 380, clientY: b.top + 340, bubbles: true }));
  window.dispatchEvent(new PointerEvent("pointerup", { bubbles: true }));
  var panned = view();
  document.querySelector('[data-zoom="fit"]').click();
  var all = vp.getBoundingClientRect(), box = svg.getBoundingClientRect();
  return { opened: opened, zoomed: zoomed, panned: panned, fitted: view(),
           tree: [all.left, all.top, all.right, all.bottom], box: [box.left, box.top, box.right, box.bottom] };
})()"""


def test_the_300_variant_lineage_opens_readable_and_zooms_pans_and_fits(big_run, proxy):
    moves = measure(big_run / "report.html", proxy, ZOOM_AND_PAN, PAGE)
    x, y, k = moves["opened"]
    assert k == pytest.approx(0.3)  # too wide to fit legibly: it opens at the floor, to pan
    zx, zy, zk = moves["zoomed"]  # the wheel zooms about the pointer: the point under it stays put
    assert zk == pytest.approx(1.2 * k) and zx == pytest.approx(200 - (200 - x) * 1.2, abs=0.01)
    assert moves["panned"] == pytest.approx([zx + 80, zy + 40, zk])  # a drag moves the tree with it
    assert moves["fitted"][2] < k  # "fit" shows all of it, however small
    (left, top, right, bottom), (bl, bt, br, bb) = moves["tree"], moves["box"]
    assert bl - 1 <= left and right <= br + 1 and bt - 1 <= top and bottom <= bb + 1


CLICK_CELL = """(function (j, i) {
  var matrix = document.getElementById("matrix"), cell = +matrix.dataset.cell, left = +matrix.dataset.left;
  var top = matrix.querySelector(".bg").y.baseVal.value;
  window.scrollTo(0, matrix.getBoundingClientRect().top + scrollY - 100);  // the reader at the matrix
  var m = matrix.getBoundingClientRect(), x = m.left + left + (i + 0.5) * cell, y = m.top + top + (j + 0.5) * cell;
  var target = document.elementFromPoint(x, y);
  target.dispatchEvent(new MouseEvent("click", { clientX: x, clientY: y, bubbles: true }));
  var shown = document.getElementById("cell"), box = shown.getBoundingClientRect();
  return { target: target.getAttribute("class"), text: shown.innerText, top: box.top, bottom: box.bottom, height: innerHeight };
})(%d, %d)"""


def test_clicking_a_matrix_cell_shows_its_evaluation_where_the_reader_is(big_run, proxy):
    from dgm.report import report_data
    from dgm.report.matrix import columns

    data = report_data(open_run(big_run), "t")
    order, cols = rows(data), columns(data)
    j, variant = next((j, v) for j, v in enumerate(order[:10]) if any(
        e.variant_id == v and e.stage >= 0 and e.resolved is False for e in data.evaluations))
    failed = next(e for e in data.evaluations if e.variant_id == variant and e.stage >= 0 and e.resolved is False)
    shown = measure(big_run / "report.html", proxy, CLICK_CELL % (j, cols.index(failed.task_id)),
                    "--window-size=1300,900")
    assert shown["target"] == "c u"  # the unresolved cells of that row, clicked where that one is drawn
    assert shown["text"].startswith(f"{variant} on {failed.task_id}\n")
    assert "unresolved" in shown["text"] and failed.reason in shown["text"] and failed.agent_exit in shown["text"]
    assert f"{failed.log_dir}/agent" in shown["text"] and f"{failed.log_dir}/grade" in shown["text"]
    assert 0 <= shown["top"] and shown["bottom"] <= shown["height"]  # scrolled into view


def test_a_budget_far_above_the_spend_is_named_and_the_spend_keeps_its_scale(tmp_path):
    """A quick run spends cents of a $100 budget: drawn to the budget, its spend line lay flat on
    the axis. The scale ends at the spend then, and the budget is named above it."""
    run = generated_run(tmp_path / "run", 6, seed=3, budget=10_000.0)
    assert dgm("report", str(run), "--svg", str(tmp_path / "figs")).returncode == 0
    svg = "{http://www.w3.org/2000/svg}"
    cost = ET.parse(tmp_path / "figs" / "cost.svg").getroot()
    assert cost.find(f".//{svg}line[@class='budget']") is None
    note = cost.find(f".//{svg}text[@class='note budget-above']").text
    assert note.startswith("budget $10,000.00, above this scale: 0.03") and note.endswith("% spent")
    y_axis = cost.findall(f".//{svg}g[@class='axis y-axis']")[-1].find(f"{svg}line")
    top, bottom = float(y_axis.get("y1")), float(y_axis.get("y2"))
    highest = min(_numbers(cost.find(f".//{svg}path[@class='spend']").get("d"))[1::2])
    assert highest < top + 0.4 * (bottom - top)  # the line climbs over half the panel


def test_a_prompt_diff_is_prose_and_a_long_task_id_wraps_in_the_node_panel(tmp_path, proxy):
    """Seen on a real run: the keyword highlighter coloured the `if` of a system prompt's English,
    and a 60-character task id pushed the agent exit and the verdict out of the panel."""
    run = generated_run(tmp_path / "run", 6, seed=3)
    from archive.db import RunDB

    db = RunDB(run / "run.db")
    child = next(r for r in db.variants() if r.parent_id and r.status == "admitted")
    long_task = "inflection__boolean+comparison__pluralize-_irregular__300"
    db.plan_evaluations(child.id, [long_task], 0)
    db.start_evaluation(child.id, long_task)
    db.finish_evaluation(child.id, long_task, False, 30.0, 0.01, "submitted", "")
    db.update_variant(child.id, diff="diff --git a/agent/prompts/system.md b/agent/prompts/system.md\n"
                                     "--- a/agent/prompts/system.md\n+++ b/agent/prompts/system.md\n@@ -1 +1,2 @@\n"
                                     " Call it again if you need its output.\n+Reproduce the failing test first.\n")
    assert dgm("report", str(run)).returncode == 0
    page = run / "report.html"
    shown = measure(page, proxy, """(function () {
      document.querySelector('.node[data-id="%s"]').dispatchEvent(new MouseEvent("click", { bubbles: true }));
      var panel = document.getElementById("details").getBoundingClientRect(), cells = [];
      document.querySelectorAll("#details td").forEach(function (td) { var r = td.getBoundingClientRect(); cells.push([r.left, r.right]); });
      return { diff: document.querySelector("#details details.file pre").innerHTML, panel: [panel.left, panel.right], cells: cells };
    })()""" % child.id, "--window-size=1300,900")
    assert "Reproduce the failing test first." in shown["diff"] and 'class="kw"' not in shown["diff"]
    assert all(shown["panel"][0] <= left and right <= shown["panel"][1] for left, right in shown["cells"])


def test_the_best_line_shows_where_it_equals_the_archive_mean(tmp_path, proxy):
    """A run whose children all score as the seed does: best-so-far and mean are one line. The
    report once drew the mean over the best and the best vanished; its colour must show along it."""
    import dataclasses

    from dgm.report import report_data
    from dgm.report.score import BEST_COLOUR, score_svg

    run = generated_run(tmp_path / "run", 12, seed=5)
    data = report_data(open_run(run), "t")
    flat = dataclasses.replace(data, variants=[dataclasses.replace(v, score=0.5) if v.score is not None else v
                                               for v in data.variants])
    figure = tmp_path / "score.svg"
    figure.write_text(score_svg(flat))
    chromium(figure.as_uri(), proxy, f"--screenshot={tmp_path / 'score.png'}")
    image = Image.open(tmp_path / "score.png").convert("RGB")
    line = re.search(r'class="best" d="M([\d.]+),[\d.]+ ([^"]*)"', figure.read_text())
    assert "V" not in line.group(2)  # one level all along: the mean's
    length = float(re.findall(r"H([\d.]+)", line.group(2))[-1]) - float(line.group(1))
    assert length > 300
    # in the mean's gaps and beside it (drawn as wide as the best, the mean left about a tenth of this)
    assert _pixels_like(image, BEST_COLOUR, tolerance=40) >= 0.5 * length

"""The HTML report is one self-contained file: it renders offline, shows the lineage, and makes no
network request (checked by routing Chromium through a recording proxy on loopback)."""

from __future__ import annotations

import re

import pytest

from dgm.report import write_report
from dgm.run_view import VariantView
from tests.chromium import RecordingProxy, chromium, screenshot

VARIANTS = [
    VariantView("seed", None, 0, "admitted", 0.3, 2, results={"t1": True, "t2": False}),
    VariantView("c1", "seed", 1, "admitted", 0.5, 2, summary="retry failed edits",
                diagnosis="The editor gives up after one miss.", diff="--- a/x\n+++ b/x\n-old\n+new</script>",
                results={"t1": True, "t2": True}, cost=0.02),
    VariantView("c2", "seed", 1, "failed", None, 0, fail_reason="edits outside the genome", cost=0.01),
    VariantView("c3", "c1", 2, "admitted", 0.7, 2, summary="use the repo map", cost=0.03),
]


@pytest.fixture()
def proxy():
    recorder = RecordingProxy()
    yield recorder
    recorder.close()


def test_the_proxy_would_catch_a_request(tmp_path, proxy):
    page = tmp_path / "leaky.html"
    page.write_text('<img src="http://example.test/pixel.png">')
    chromium(page.as_uri(), proxy, "--dump-dom")
    assert proxy.page_requests == ["GET http://example.test/pixel.png HTTP/1.1"]


def test_report_renders_nodes_offline_without_any_request(tmp_path, proxy):
    report = write_report(VARIANTS, "run test", tmp_path / "report.html")
    html = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    shot = screenshot(report.as_uri(), proxy, tmp_path / "report.png")
    assert shot.stat().st_size > 10_000
    assert proxy.page_requests == []


def test_a_linked_node_shows_its_diff_diagnosis_and_results(tmp_path, proxy):
    report = write_report(VARIANTS, "run test", tmp_path / "report.html")
    dom = chromium(report.as_uri() + "#c1", proxy, "--dump-dom")
    details = dom.split('id="details"', 1)[1].split("</section>", 1)[0]
    assert "The editor gives up after one miss." in details
    assert "+new&lt;/script&gt;" in details  # a diff cannot break out of the page
    assert "t2</td><td class=\"add\">resolved" in details
    assert dom.count('class="node') == 4
    assert proxy.page_requests == []


def test_the_report_of_a_dgm_run_shows_every_node_offline(evolved_run, tmp_path, proxy):
    from dgm.run_dir import open_run, variant_views
    from tests.runs import dgm

    run_dir, _ = evolved_run
    result = dgm("report", str(run_dir), "--out", str(tmp_path / "report.html"))
    assert result.returncode == 0, result.stderr
    views = variant_views(open_run(run_dir))
    dom = chromium((tmp_path / "report.html").as_uri(), proxy, "--dump-dom")
    assert dom.count('class="node') == len(views) >= 9
    assert all(f'data-id="{v.id}"' in dom for v in views)
    shot = screenshot((tmp_path / "report.html").as_uri(), proxy, run_dir / "report.png")
    assert shot.stat().st_size > 10_000
    assert proxy.page_requests == []

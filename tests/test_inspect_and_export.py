"""Looking into a run made by `dgm run` (tree, show, diff, report) and exporting its best variant
as a tool that installs in a fresh virtual environment and fixes a repository with the scripted
model."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from dgm.export import tool_name
from dgm.run_dir import open_run, variant_views
from dgm.run_view import VariantView, best_variant
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from tests.scripted_world import LESSON
from sandbox.image import REQUIREMENTS
from sandbox.wheels import PythonTarget, download_wheels


def _dgm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dgm", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def run(evolved_run) -> Path:
    """A run made by `dgm run` (8 steps, scripted model): an improved child, a rejected one."""
    run_dir, result = evolved_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="module")
def best(run):
    return best_variant(variant_views(open_run(run)))


def test_best_is_the_highest_score_on_the_largest_stage_with_held_out_breaking_ties():
    def v(name, stage, score, heldout=None, status="admitted"):
        return VariantView(name, None, int(name[1]), status, score, stage, heldout_score=heldout)

    deeper = v("v1", 2, 0.6)
    assert best_variant([v("v0", 1, 1.0), deeper, v("v2", 2, 0.9, status="failed")]) is deeper
    tied = v("v4", 2, 1.0, heldout=0.75)
    assert best_variant([v("v3", 2, 1.0, heldout=0.5), tied, v("v5", 2, 0.9, heldout=1.0)]) is tied
    first = v("v6", 2, 1.0, heldout=0.75)
    assert best_variant([first, v("v7", 2, 1.0, heldout=0.75)]) is first
    assert best_variant([v("v8", 0, None, status="failed")]) is None


@pytest.fixture(scope="module")
def rejected(run):
    return next(v for v in variant_views(open_run(run)) if "outside the genome" in v.fail_reason)


def test_tree_shows_every_variant_and_marks_the_best(run, best, rejected):
    result = _dgm("tree", str(run))
    assert result.returncode == 0, result.stderr
    best_line = next(line for line in result.stdout.splitlines() if f" {best.id} " in f" {line} ")
    assert "★ best" in best_line and f"{best.score:5.2f}" in best_line and "stage 2" in best_line
    assert rejected.id in result.stdout and "outside the genome" in result.stdout
    assert len([v for v in variant_views(open_run(run))]) == sum(
        1 for line in result.stdout.splitlines() if " score " in line)


def test_show_and_diff_give_the_change_diagnosis_and_results(run, best, rejected):
    shown = _dgm("show", str(run), best.id)
    assert shown.returncode == 0, shown.stderr
    assert LESSON in shown.stdout and "agent/prompts/system.md" in shown.stdout  # diagnosis and diff
    assert all(task in shown.stdout for task in best.results) and "logs" in shown.stdout
    changed = _dgm("diff", str(run), "seed", best.id)
    assert changed.returncode == 0 and f"+{LESSON}" in changed.stdout
    failed = _dgm("diff", str(run), "seed", rejected.id)
    assert failed.returncode == 1 and "never committed" in failed.stderr


def test_report_is_written_for_the_run(run, best):
    result = _dgm("report", str(run))
    assert result.returncode == 0, result.stderr
    html = (run / "report.html").read_text()
    assert f'data-id="{best.id}"' in html and LESSON in html


def test_bad_runs_and_variants_are_one_line_errors(run, tmp_path):
    assert "is not a run directory" in _dgm("tree", str(tmp_path)).stderr
    result = _dgm("show", str(run), "zzz")
    assert result.returncode == 1 and "no variant matches 'zzz'" in result.stderr and "Traceback" not in result.stderr


def test_the_best_variant_exports_installs_and_fixes_a_repository(run, best, tmp_path):
    out = tmp_path / "tool"
    result = _dgm("export", str(run), "best", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"best: {best.id}" in result.stdout and "largest stage it completed" in result.stdout
    readme = (out / "README.md").read_text()
    assert "| seed |" in readme and f"| {best.id} |" in readme and "openai/scripted" in readme

    # A fresh venv, offline: the wheels the sandbox image was built from, plus setuptools.
    major, minor = (int(x) for x in platform.libc_ver()[1].split(".")[:2])
    target = PythonTarget(f"{sys.version_info[0]}.{sys.version_info[1]}", (major, minor), platform.machine())
    requirements = [l.strip() for l in REQUIREMENTS.read_text().splitlines() if l.strip() and not l.startswith("#")]
    wheels = download_wheels(requirements, target, tmp_path / "wheels")
    download_wheels(["setuptools>=68"], target, wheels)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--find-links", str(wheels), str(out)],
                   check=True, capture_output=True, timeout=600)
    # from outside the checkout and without the PYTHONPATH the tests run under (it names the
    # checkout), so only what the venv installed is importable
    alone = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import dgm"], capture_output=True, cwd=tmp_path,
                          env=alone).returncode != 0

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "greet.py").write_text("def greet(name):\n    return 'helo ' + name\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"], cwd=repo, check=True)
    (tmp_path / "issue.md").write_text("greet('Ann') says 'helo Ann'.")
    script = [ScriptedReply(tool_calls=[{"name": "str_replace", "arguments": {"path": "greet.py", "old": "'helo '", "new": "'hello '"}}]),
              ScriptedReply(tool_calls=[{"name": "submit", "arguments": {}}])]
    with ScriptedLLMServer(script) as server:
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "OPENAI_BASE_URL": server.url,
               "OPENAI_API_KEY": "x"}
        fixed = subprocess.run([str(venv / "bin" / tool_name(best.id)), "--repo", str(repo), "--issue",
                                str(tmp_path / "issue.md")], capture_output=True, text=True, env=env, timeout=300,
                               cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "-    return 'helo ' + name\n+    return 'hello ' + name" in fixed.stdout
    assert server.requests[0]["model"] == "scripted"  # the exported model setting was used

"""Looking into a run (tree, show, diff, report) and exporting its best variant as a tool that
installs in a fresh virtual environment and fixes a repository with the scripted model."""

from __future__ import annotations

import difflib
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from archive.db import RunDB
from archive.genome_repo import GenomeRepo
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from sandbox.image import REQUIREMENTS
from sandbox.wheels import PythonTarget, download_wheels

ROOT = Path(__file__).resolve().parent.parent


def _dgm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dgm", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A run directory as the engine leaves it: a seed, an improved child, a failed child."""
    run_dir = tmp_path_factory.mktemp("run")
    repo, seed = GenomeRepo.create(run_dir / "genome.git", ROOT)
    prompt = "agent/prompts/system.md"
    before = (ROOT / prompt).read_text()
    after = before.replace("read code before changing it", "read code and its tests before changing it")
    child_diff = f"diff --git a/{prompt} b/{prompt}\n" + "".join(
        difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{prompt}", f"b/{prompt}"))
    child = repo.commit_child(seed, child_diff, "read tests first")
    db = RunDB(run_dir / "run.db", create=True)
    db.add_variant("seed", None, 0, "admitted", seed)
    db.add_variant("c1a2b3", "seed", 1, "admitted", child)
    db.add_variant("c9f8e7", "seed", 1, "failed")
    db.update_variant("c1a2b3", summary="the agent edits before reading tests", diagnosis="Read the tests first.",
                      diff=child_diff)
    db.update_variant("c9f8e7", fail_reason="the child edits outside the genome")
    for variant, outcomes in (("seed", [True, False]), ("c1a2b3", [True, True])):
        db.plan_evaluations(variant, ["task-1", "task-2"], 0)
        for task, resolved in zip(["task-1", "task-2"], outcomes):
            db.finish_evaluation(variant, task, resolved, 1.0, 0.01, "submitted", "")
        db.update_variant(variant, score=sum(outcomes) / 2, stage=1)
    (run_dir / "config.toml").write_text('[model]\nname = "openai/scripted"\n')
    return run_dir


def test_tree_shows_every_variant_and_marks_the_best(run):
    result = _dgm("tree", str(run))
    assert result.returncode == 0, result.stderr
    assert "c1a2b3" in result.stdout and "★ best" in result.stdout
    assert "c9f8e7" in result.stdout and "edits outside the genome" in result.stdout


def test_show_and_diff_give_the_change_diagnosis_and_results(run):
    shown = _dgm("show", str(run), "c1a2")
    assert shown.returncode == 0, shown.stderr
    assert "Read the tests first." in shown.stdout and "read code and its tests" in shown.stdout
    assert "task-2" in shown.stdout and "logs" in shown.stdout
    changed = _dgm("diff", str(run), "seed", "c1a2b3")
    assert "+" in changed.stdout and "its tests before changing it" in changed.stdout
    failed = _dgm("diff", str(run), "seed", "c9f8e7")
    assert failed.returncode == 1 and "never committed" in failed.stderr


def test_report_is_written_for_the_run(run):
    result = _dgm("report", str(run))
    assert result.returncode == 0, result.stderr
    html = (run / "report.html").read_text()
    assert 'data-id="c1a2b3"' in html and "Read the tests first." in html


def test_bad_runs_and_variants_are_one_line_errors(run, tmp_path):
    assert "is not a run directory" in _dgm("tree", str(tmp_path)).stderr
    result = _dgm("show", str(run), "zzz")
    assert result.returncode == 1 and "no variant matches 'zzz'" in result.stderr and "Traceback" not in result.stderr


def test_the_best_variant_exports_installs_and_fixes_a_repository(run, tmp_path):
    out = tmp_path / "tool"
    result = _dgm("export", str(run), "best", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "best: c1a2b3" in result.stdout and "largest stage it completed" in result.stdout
    readme = (out / "README.md").read_text()
    assert "| seed |" in readme and "| c1a2b3 |" in readme and "openai/scripted" in readme

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
    # from outside the checkout, so only what the venv installed is importable
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import dgm"], capture_output=True, cwd=tmp_path).returncode != 0

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
        fixed = subprocess.run([str(venv / "bin" / "dgm-agent-c1a2b3"), "--repo", str(repo), "--issue",
                                str(tmp_path / "issue.md")], capture_output=True, text=True, env=env, timeout=300,
                               cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "-    return 'helo ' + name\n+    return 'hello ' + name" in fixed.stdout
    assert server.requests[0]["model"] == "scripted"  # the exported model setting was used

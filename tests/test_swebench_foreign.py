"""SWE-bench tasks on a foreign base (tests/fixtures/swebench/foreign: Debian bullseye, Python 3.9
in a conda-like env `testbed`, nothing of dgm's): the agent runs in dgm's image and its shell
commands run in the task's container and environment through the exec relay; grading keeps the
markers past a 25 MB `git show`, reinstalls offline, and proves itself gold 100 % / empty 0 %."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from archive.db import RunDB
from benchmarks.agent_run import run_agent_on_task
from benchmarks.task_suite import load_task_suite
from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from sandbox.container import Limits
from sandbox.engine import docker_client
from sandbox.llm_bridge import bridge
from tests.foreign_base import ensure_foreign_base
from tests.runs import dgm, one_task_run
from tests.scripted_world import LESSON

FOREIGN = Path(__file__).resolve().parent / "fixtures" / "swebench" / "foreign"
SPEC = f"swebench:{FOREIGN}"
GENOME = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def foreign_suite():
    ensure_foreign_base()
    suite = load_task_suite(SPEC)
    return suite, suite.tasks()[0]


def test_gold_resolves_and_empty_does_not_on_a_foreign_base_past_a_flood_of_git_show(foreign_suite, tmp_path):
    result = dgm("bench", "validate", SPEC, "--logs", str(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "gold resolved 1/1 (100 %), empty resolved 0/1 (0 %)" in result.stdout
    log = (tmp_path / "unitconv__unitconv-1" / "gold" / "test_output.txt").read_text()
    # eval.sh's `git show` of the parentless base printed ~25 MB: the middle is cut, the tests kept
    assert "[output cut: kept the first 8000000 and the last 8000000 of" in log
    assert "PASSED tests/test_units.py::test_to_celsius" in log
    # the fix reached the tests only through eval.sh's offline reinstall into the user site
    assert "Successfully installed unitconv-0.1" in log


def _scripted(task_patch: str):
    """A model that looks around the task's shell, applies the fix there, and submits."""
    probe = ("python -c 'import sys; print(sys.version_info[:2])'; echo env=$CONDA_DEFAULT_ENV; "
             "command -v socat || echo no-socat; ls /opt/venv 2>&1 | head -1; id -u")
    replies = iter([
        ScriptedReply(tool_calls=[{"name": "bash", "arguments": {"command": probe}}]),
        ScriptedReply(tool_calls=[{"name": "bash", "arguments": {"command": f"git apply <<'PATCH'\n{task_patch}\nPATCH"}}]),
        ScriptedReply(tool_calls=[{"name": "submit", "arguments": {}}]),
    ])
    return lambda body: next(replies)


def test_the_agent_runs_in_dgm_image_and_its_commands_in_the_task_environment(foreign_suite, tmp_path, monkeypatch):
    suite, task = foreign_suite
    monkeypatch.setenv("DGM_FOREIGN_UPSTREAM_KEY", "sk-host-only")
    socket_path = tmp_path / "gw" / "llm.sock"
    with ScriptedLLMServer(_scripted(task.patch)) as upstream, Gateway(
        UpstreamConfig(model="openai/m", api_base=upstream.url, api_key_env="DGM_FOREIGN_UPSTREAM_KEY",
                       input_price_per_mtok=0.0, output_price_per_mtok=0.0),
        tmp_path / "run", socket_path=socket_path,
    ) as gateway:
        outcome = run_agent_on_task(GENOME, task, suite, suite.image_for(task), log_dir=tmp_path / "agent",
                                    bridge=bridge(socket_path, gateway.issue_token("seed", task.instance_id)),
                                    limits=Limits(timeout=300), run_id="test-foreign")
    assert outcome.agent_exit == "submitted", (tmp_path / "agent" / "agent_output.txt").read_text()[-3000:]
    observations = [json.loads(line) for line in outcome.trajectory.read_text().splitlines()]
    probe = next(r for r in observations if r.get("type") == "tool")
    text = json.dumps(probe)
    # the task's Python 3.9 and conda env, none of dgm's runtime, the sandbox's unprivileged uid
    assert "(3, 9)" in text and "env=testbed" in text and "no-socat" in text and "No such file" in text
    # the fix applied by the task's shell is the agent's patch: /testbed is one directory for both
    assert "-    return (fahrenheit - 32) * 9 / 5" in outcome.patch
    assert suite.grade(task, outcome.patch, log_dir=tmp_path / "grade", timeout=300, run_id="test-foreign").resolved
    # nothing of the pair is left behind: containers and shared volumes removed (in the background)
    client, deadline = docker_client(), time.monotonic() + 30
    mine = {"label": "dgm.run=test-foreign"}
    while client.containers.list(all=True, filters=mine, ignore_removed=True) or client.volumes.list(filters=mine):
        assert time.monotonic() < deadline, "the task container or its volumes outlived the agent"
        time.sleep(0.5)


def test_an_image_that_cannot_serve_is_named_in_one_line_before_any_evaluation(foreign_suite, tmp_path):
    import shutil

    repo = tmp_path / "repo"
    shutil.copytree(FOREIGN, repo)
    dockerfile = repo / "tasks" / "unitconv__unitconv-1" / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN rm -rf /testbed/.git /usr/bin/timeout\n")
    result = dgm("bench", "validate", f"swebench:{repo}", "--logs", str(tmp_path / "logs"))
    assert result.returncode != 0
    message = " ".join(result.stdout.split())
    assert "cannot serve: for agent: no timeout; for grading: /testbed is not a git work tree" in message, message
    dockerfile.write_text("FROM registry.example/swe/missing:1\n")
    result = dgm("bench", "validate", f"swebench:{repo}", "--logs", str(tmp_path / "logs"))
    message = " ".join(result.stdout.split())
    assert "builds FROM registry.example/swe/missing:1, which Docker does not have" in message, message


BUILD_NEEDS_SCM = """diff --git a/setup.py b/setup.py
--- a/setup.py
+++ b/setup.py
@@ -1,3 +1,4 @@
 from setuptools import find_packages, setup
 
-setup(name="unitconv", version="0.1", package_dir={"": "src"}, packages=find_packages("src"))
+setup(name="unitconv", version="0.1", package_dir={"": "src"}, packages=find_packages("src"),
+      setup_requires=["setuptools_scm"])
"""


def test_a_reinstall_that_cannot_build_offline_is_named_in_the_verdict(foreign_suite, tmp_path):
    # pytest-dev__pytest-7373 on a foreign base: eval.sh's `pip install -e .` needs setuptools-scm,
    # which the env lacks (swebench's harness fetches it into an isolated build); a non-editable
    # install then leaves the tests on the old code, and a bare "FAIL_TO_PASS not passing" hid why
    suite, task = foreign_suite
    graded = suite.grade(task, task.patch + BUILD_NEEDS_SCM, log_dir=tmp_path, timeout=300, run_id="test-foreign")
    assert not graded.resolved
    assert ("eval.sh's reinstall `python -m pip install .` failed (the build needs setuptools_scm, which the "
            "environment lacks and grading cannot download)") in graded.reason, graded.reason


def test_a_short_run_with_the_scripted_model_learns_on_the_foreign_task(foreign_suite, tmp_path):
    suite, _ = foreign_suite
    result = one_task_run(SPEC, suite.tasks(), tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row.id: row for row in RunDB(tmp_path / "run" / "run.db").variants()}
    assert rows["seed"].score == 0.0
    assert LESSON in rows["v1-1"].diagnosis and rows["v1-1"].score == 1.0

"""The seed agent solves a bundled task inside a container, talking to a scripted model only
through the run's gateway (a unix socket; the container has no network and no key), and the
grader, in a fresh container, marks the task resolved."""

from __future__ import annotations

import json
import re
from pathlib import Path


from benchmarks.agent_run import run_agent_on_task
from benchmarks.grader import grade
from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from sandbox.container import Limits
from sandbox.llm_bridge import bridge

GENOME = Path(__file__).resolve().parent.parent
HOST_KEY = "sk-e2e-host-only-secret"


def call(name: str, **arguments) -> ScriptedReply:
    return ScriptedReply(tool_calls=[{"name": name, "arguments": arguments}])


def _edit_from_gold(patch: str) -> tuple[str, str, str]:
    """(path, old, new) of the gold patch's first hunk, as a model would write it."""
    path = re.search(r"^\+\+\+ b/(\S+)", patch, re.M).group(1)
    hunk = patch.split("@@", 2)[2].split("\n", 1)[1]
    old, new = [], []
    for line in hunk.splitlines():
        if line.startswith(" ") or line == "":
            old.append(line[1:])
            new.append(line[1:])
        elif line.startswith("-"):
            old.append(line[1:])
        elif line.startswith("+"):
            new.append(line[1:])
    return path, "\n".join(old) + "\n", "\n".join(new) + "\n"


def _drift(text: str) -> str:
    """The whitespace mistakes models make: two spaces too deep, and trailing blanks."""
    return "".join(("  " + line + "  \n") if line.strip() else "\n" for line in text.splitlines())


def _run(inflection_task, pyfix, pyfix_image, tmp_path, script, monkeypatch, budget=None):
    monkeypatch.setenv("DGM_E2E_UPSTREAM_KEY", HOST_KEY)
    socket_path = tmp_path / "gw" / "llm.sock"
    with ScriptedLLMServer(script) as upstream, Gateway(
        UpstreamConfig(model="openai/e2e-model", api_base=upstream.url, api_key_env="DGM_E2E_UPSTREAM_KEY",
                       input_price_per_mtok=1.0, output_price_per_mtok=1.0),
        tmp_path / "run", budget=budget, socket_path=socket_path,
    ) as gateway:
        token = gateway.issue_token("seed", inflection_task.instance_id)
        outcome = run_agent_on_task(
            GENOME, inflection_task, pyfix, pyfix_image, log_dir=tmp_path / "agent", bridge=bridge(socket_path, token),
            limits=Limits(timeout=300),
        )
    return outcome, upstream, gateway


def test_the_agent_solves_a_bundled_task_in_a_container(pyfix, pyfix_image, inflection_task, tmp_path, monkeypatch):
    path, old, new = _edit_from_gold(inflection_task.patch)
    first_removed = next(l[1:].strip() for l in inflection_task.patch.splitlines() if l.startswith("-") and not l.startswith("---"))
    tests = " ".join(f"'{t}'" for t in inflection_task.fail_to_pass[:3])
    script = [
        call("search_text", pattern=first_removed),
        call("view", path=path),
        call("str_replace", path=path, old=_drift(old), new=_drift(new)),
        call("bash", command=f"python -m pytest -q -p no:cacheprovider -o addopts='' {tests}"),
        call("bash", command="env"),
        call("submit"),
    ]
    outcome, upstream, gateway = _run(inflection_task, pyfix, pyfix_image, tmp_path, script, monkeypatch)
    assert outcome.agent_exit == "submitted", (tmp_path / "agent" / "agent_output.txt").read_text()[-3000:]
    tools = [json.loads(l) for l in outcome.trajectory.read_text().splitlines() if '"type": "tool"' in l]
    assert path in tools[0]["output"]  # the search found the file
    assert "indentation match" in tools[2]["output"]  # drifted whitespace, placed at the right lines
    assert "passed" in tools[3]["output"]
    environment = tools[4]["output"]
    assert HOST_KEY not in environment and "OPENAI_API_KEY=dgm-" in environment
    # the agent's --time-limit counts from the container's start, not from its own
    assert re.search(r"^DGM_CLOCK_START=\d{10}$", environment, re.M)
    assert upstream.authorizations[0] == f"Bearer {HOST_KEY}"  # the key stayed on the host side
    assert gateway.usage(variant_id="seed", task_id=inflection_task.instance_id).calls == len(script)
    result = grade(inflection_task, outcome.patch, pyfix, pyfix_image, log_dir=tmp_path / "grade")
    assert result.resolved, result.reason


def test_a_zero_budget_stops_the_agent_with_the_budget_error(pyfix, pyfix_image, inflection_task, tmp_path, monkeypatch):
    outcome, upstream, _ = _run(inflection_task, pyfix, pyfix_image, tmp_path, [call("submit")], monkeypatch, budget=0.0)
    assert outcome.exit_code == 3
    assert outcome.agent_exit == "budget_exceeded"
    exit_record = json.loads(outcome.trajectory.read_text().splitlines()[-1])
    assert "budget" in exit_record["message"]
    assert upstream.requests == []

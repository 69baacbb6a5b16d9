"""The second agent on a task starts with the code index the first one built: the host carries
the index directory between their containers, and the second agent's index parses nothing."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import index_cache
from benchmarks.agent_run import run_agent_on_task
from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from sandbox.container import Limits
from sandbox.llm_bridge import bridge

GENOME = Path(__file__).resolve().parent.parent
PARSED = ("python -c \"import os; from pathlib import Path; from tools.code_index import CodeIndex; "
          "i = CodeIndex(Path('.'), Path(os.environ['DGM_INDEX_CACHE'])); print('parsed', i.refresh(), 'of', len(i.files()))\"")


def call(tool: str, **arguments) -> ScriptedReply:
    return ScriptedReply(tool_calls=[{"name": tool, "arguments": arguments}])


def _agent(task, pyfix, image, tmp_path, script, name):
    socket_path = tmp_path / name / "gw" / "llm.sock"
    with ScriptedLLMServer(script) as upstream, Gateway(
        UpstreamConfig(model="openai/e2e-model", api_base=upstream.url, api_key_env="DGM_E2E_UPSTREAM_KEY",
                       input_price_per_mtok=1.0, output_price_per_mtok=1.0),
        tmp_path / name / "run", socket_path=socket_path,
    ) as gateway:
        outcome = run_agent_on_task(GENOME, task, pyfix, image, log_dir=tmp_path / name / "agent",
                                    bridge=bridge(socket_path, gateway.issue_token("seed", task.instance_id)),
                                    limits=Limits(timeout=300))
    assert outcome.agent_exit == "submitted", (tmp_path / name / "agent" / "agent_output.txt").read_text()[-3000:]
    return [json.loads(line)["output"] for line in outcome.trajectory.read_text().splitlines()
            if '"type": "tool"' in line]


def test_the_next_agent_on_a_task_reuses_the_index_the_first_one_built(pyfix, pyfix_image, inflection_task,
                                                                      tmp_path, monkeypatch):
    monkeypatch.setenv("DGM_E2E_UPSTREAM_KEY", "sk-warm-start")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "host-cache"))
    cached = index_cache.host_cache(GENOME, pyfix_image, pyfix.agent_setup(inflection_task))
    first = _agent(inflection_task, pyfix, pyfix_image, tmp_path,
                   [call("bash", command=PARSED), call("find_definition", name="camelize"), call("submit")], "first")
    parsed, total = first[0].split("parsed ")[1].split(" of ")
    assert int(parsed) == int(total) > 0  # the first agent starts cold
    assert "inflection/__init__.py" in first[1]
    assert any(cached.rglob("manifest-*"))  # the host kept what it built
    second = _agent(inflection_task, pyfix, pyfix_image, tmp_path, [call("bash", command=PARSED), call("submit")],
                    "second")
    assert f"parsed 0 of {total.strip()}" in second[0]

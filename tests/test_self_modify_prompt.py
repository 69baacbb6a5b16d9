"""Self-modification in a container through the run's gateway: the parent gets a prompt of its own
(a generated map of its genome, the diagnosis, how to check a change) and can run the genome's own
tests and the smoke test on its edited source."""

from __future__ import annotations

import json
from pathlib import Path

from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from dgm.self_modify import genome_map, self_modify
from sandbox.container import Limits
from sandbox.llm_bridge import bridge

GENOME = Path(__file__).resolve().parent.parent
DIAGNOSIS = "The agent gives up after reading one file; the system prompt should ask it to read the callers too."
CHECK = "PYTHONPATH=. python -m pytest -q -p no:cacheprovider agent/tests && PYTHONPATH=. python -m agent.smoke_test"


def call(name: str, **arguments) -> ScriptedReply:
    return ScriptedReply(tool_calls=[{"name": name, "arguments": arguments}])


def test_the_genome_map_names_each_file_and_its_definitions():
    lines = genome_map(GENOME).splitlines()
    loop = next(line for line in lines if line.startswith("- `agent/loop.py`"))
    assert "solve" in loop and "The agent's loop" in loop
    assert "- `agent/prompts/system.md`" in lines and any(line.startswith("- `tools/editor.py`") for line in lines)
    assert not any("__pycache__" in line for line in lines)


def test_self_modification_gets_its_own_prompt_and_checks_its_change_in_the_container(sandbox_image, tmp_path,
                                                                                       monkeypatch):
    monkeypatch.setenv("DGM_SM_KEY", "sk-host-only")
    script = [
        call("str_replace", path="agent/prompts/system.md", old="read code before changing it",
             new="read code and its callers before changing it"),
        call("bash", command=CHECK),
        call("submit"),
    ]
    socket_path = tmp_path / "gw" / "llm.sock"
    with ScriptedLLMServer(script) as upstream, Gateway(
        UpstreamConfig(model="openai/sm-model", api_base=upstream.url, api_key_env="DGM_SM_KEY",
                       input_price_per_mtok=1.0, output_price_per_mtok=1.0),
        tmp_path / "run", socket_path=socket_path,
    ) as gateway:
        change = self_modify(GENOME, DIAGNOSIS, sandbox_image, log_dir=tmp_path / "modify",
                             bridge=bridge(socket_path, gateway.issue_token("c1", "self_modify")),
                             env={"DGM_POLICY": "llm"}, limits=Limits(timeout=600),
                             agent_args=["--max-steps", "10", "--time-limit", "540"], run_id="sm-test")
    prompt = upstream.requests[0]["messages"][1]["content"]
    assert DIAGNOSIS in prompt and "- `agent/loop.py`: " in prompt and "python -m agent.smoke_test" in prompt
    assert "Only changes under `agent/` and `tools/` count" in prompt
    trajectory = tmp_path / "modify" / "out" / "trajectory.jsonl"
    tools = [json.loads(line) for line in trajectory.read_text().splitlines() if '"type": "tool"' in line]
    assert "smoke test passed" in tools[1]["output"] and " passed" in tools[1]["output"], tools[1]["output"][-2000:]
    assert "submitted" in change.note
    assert "+++ b/agent/prompts/system.md" in change.diff and "its callers" in change.diff

"""Diagnosis turns a failed task into one improvement of the agent's own code, seeing the task, the
outcome and the trajectory plus the genome files on the failing path, never gold patches or tests."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from dgm.diagnose import describe_outcome, diagnose, pick_failed_task
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
GENOME = Path(__file__).resolve().parent.parent


def test_the_diagnosis_sees_the_failure_and_the_relevant_genome_files(tmp_path):
    import litellm

    trajectory = tmp_path / "trajectory.jsonl"
    trajectory.write_text("\n".join(json.dumps(r) for r in [
        {"type": "message", "role": "user", "content": "fix the parser"},
        {"type": "tool", "name": "str_replace", "arguments": {}, "output": "error: no change to p.py: Ambiguous"},
        {"type": "exit", "reason": "step_limit"},
    ]) + "\n")
    answer = "SUMMARY: edits give up after one ambiguous match\nISSUE:\nIn tools/editor.py, show both places."
    with ScriptedLLMServer([ScriptedReply(content=answer)]) as server:
        def call(messages):
            response = litellm.completion(model="openai/diagnoser", api_base=server.url, api_key="k", messages=messages)
            return response.choices[0].message.content

        outcome = describe_outcome(False, {"tests/test_p.py::test_parse": "failed"}, "step_limit")
        result = diagnose(call, GENOME, "task-7", "Parsing 'a,b' gives one field.", outcome, trajectory)
    prompt = server.requests[0]["messages"][0]["content"]
    assert "Parsing 'a,b' gives one field." in prompt
    assert "tests/test_p.py::test_parse: failed" in prompt and "step_limit" in prompt
    assert "no change to p.py: Ambiguous" in prompt
    assert "## tools/editor.py" in prompt  # found through the genome's own code index
    assert "$" not in prompt.split("# The task")[0]  # every placeholder was filled
    assert not (GENOME / ".dgm-index").exists()  # reading the genome leaves it as it was
    assert result.task_id == "task-7"
    assert result.summary == "edits give up after one ambiguous match"
    assert result.issue == "In tools/editor.py, show both places."


def test_only_failed_training_tasks_are_diagnosed():
    results = {"a": True, "b": False, "held": False}
    assert pick_failed_task(results, ["a", "b"], random.Random(0)) == "b"
    assert pick_failed_task({"a": True}, ["a"], random.Random(0)) is None

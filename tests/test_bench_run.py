"""`dgm bench run`: an agent works on tasks in containers through the gateway, the patches are
graded, and the results come back as a table and as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.suite import load_suite
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply

GENOME = Path(__file__).resolve().parent.parent


def test_bench_run_resolves_tasks_whose_model_sends_the_fix_and_reports_each_difficulty(tmp_path):
    train = [t for t in load_suite("pyfix").tasks() if t.split == "train"]
    tasks = [next(t for t in train if t.difficulty == d) for d in ("one-token", "one-line")]

    def model(body: dict) -> ScriptedReply:
        messages = body["messages"]
        if messages[-1]["role"] == "tool":
            return ScriptedReply(tool_calls=[{"name": "submit", "arguments": {}}])
        issue = messages[1]["content"]
        task = next(t for t in tasks if t.problem_statement in issue)
        return ScriptedReply(tool_calls=[{"name": "apply_diff", "arguments": {"diff": task.patch}}])

    with ScriptedLLMServer(model) as server:
        result = subprocess.run(
            [sys.executable, "-m", "dgm", "bench", "run", "--suite", "pyfix", "--agent", str(GENOME),
             *(a for t in tasks for a in ("--task", t.instance_id)), "--workers", "2",
             "--model", "openai/scripted", "--api-base", server.url, "--input-price", "0", "--output-price", "0",
             "--out", str(tmp_path)],
            capture_output=True, text=True, timeout=900,
        )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "pyfix: 2/2 resolved" in result.stdout
    assert "resolve rate by difficulty" in result.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    runs = results["tasks"]
    assert [r["instance_id"] for r in runs] == sorted(t.instance_id for t in tasks)
    assert all(r["resolved"] and r["agent_exit"] == "submitted" for r in runs)
    assert results["by_difficulty"] == {"one-token": {"resolved": 1, "total": 1, "rate": 1.0},
                                        "one-line": {"resolved": 1, "total": 1, "rate": 1.0}}
    assert (tmp_path / "llm_calls.jsonl").read_text().count("\n") == 4


def test_bench_run_refuses_a_directory_that_is_not_a_genome(tmp_path):
    result = subprocess.run([sys.executable, "-m", "dgm", "bench", "run", "--agent", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "holds no agent/ and tools/" in result.stderr and "Traceback" not in result.stderr

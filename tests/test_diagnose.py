"""Diagnosis turns a parent's failure into one improvement of its own code. It sees what DGM shows
(the whole trajectory with old outputs elided, the agent's patch, the grading's test output and
per-test results, the genome files the agent ran, prompts first), never gold patches or test
source; infrastructure failures are never drawn; special entries have prompts of their own; an
unusable answer is asked once more and then fails."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from dgm.config import load_config
from dgm.diagnose import DiagnosisFailed, Target, diagnose, pick_target, render_prompt
from dgm.diagnosis_context import Attempt, diagnosis_context, files_run, render_trajectory
from dgm.eval_record import is_infrastructure_failure, write_result
from dgm.evaluation import EvalResult
from dgm.llm.gateway import Gateway
from dgm.llm.provider import upstream_for
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
GENOME = Path(__file__).resolve().parent.parent
CONTEXT = {"problem_statement": "p", "outcome": "o", "patch": "", "test_output": "", "trajectory": "", "files": ""}
ANSWER = "SUMMARY: edits give up after one ambiguous match\nISSUE:\nIn tools/editor.py, show both places."


def _litellm_call(server: ScriptedLLMServer):
    import litellm

    def call(messages):
        response = litellm.completion(model="openai/diagnoser", api_base=server.url, api_key="k", messages=messages,
                                      max_tokens=16000)
        return response.choices[0].message.content or ""

    return call


def _failed_attempt(log_dir: Path, task, trajectory: list[dict], patch: str, test_output: str) -> Path:
    out = log_dir / "agent" / "out"
    out.mkdir(parents=True)
    (out / "trajectory.jsonl").write_text("".join(json.dumps(r) + "\n" for r in trajectory))
    (out / "patch.diff").write_text(patch)
    grade = log_dir / "grade"
    grade.mkdir()
    (grade / "test_output.txt").write_text(test_output)
    (grade / "outcomes.json").write_text(json.dumps({t: "failed" for t in task.fail_to_pass}))
    write_result(log_dir, EvalResult("v1", task.instance_id, False, "1 FAIL_TO_PASS test(s) not passing", "submitted", 3.0))
    return log_dir


def test_a_diagnosis_prompt_carries_the_patch_the_test_output_and_the_prompts(tmp_path, inflection_task):
    task = inflection_task
    patch = "diff --git a/inflection/__init__.py b/inflection/__init__.py\n+    return word  # AGENT-EDIT\n"
    output = "FAILED test_inflection.py::test_pluralize - AssertionError: 'octopus' != 'octopi'\n1 failed"
    log_dir = _failed_attempt(tmp_path / "logs", task, [
        {"type": "message", "role": "user", "content": "fix the pluralizer"},
        {"type": "tool", "name": "str_replace", "arguments": {"path": "p.py"}, "output": "error: Ambiguous match"},
        {"type": "exit", "reason": "submitted"},
    ], patch, output)
    context = diagnosis_context(GENOME, log_dir, task, "submitted", "llm", 60_000)
    with ScriptedLLMServer([ScriptedReply(content=ANSWER)]) as server:
        result = diagnose(_litellm_call(server), Target("task", task.instance_id, task.instance_id, ""), context)
    prompt = server.requests[0]["messages"][0]["content"]
    assert server.requests[0]["max_tokens"] == 16000
    assert task.problem_statement.strip()[:80] in prompt
    assert "AGENT-EDIT" in prompt and "'octopus' != 'octopi'" in prompt  # the patch and the test output
    assert f"{task.fail_to_pass[0]}: failed" in prompt and "Ambiguous match" in prompt
    assert "1 FAIL_TO_PASS test(s) not passing" in prompt  # the grader's verdict
    assert "## agent/prompts/system.md" in prompt and (GENOME / "agent/prompts/system.md").read_text()[:200] in prompt
    for ran in ("agent/loop.py", "agent/actions.py", "agent/llm.py", "tools/editor.py", "tools/bash.py"):
        assert f"## {ran}" in prompt
    assert "agent/repair" not in prompt  # the no-model policy never ran with a model
    assert task.patch.strip() not in prompt  # never the answer
    assert not task.test_patch.strip() or task.test_patch.strip() not in prompt
    assert "$" not in prompt.split("# The task")[0]  # every placeholder was filled
    assert (result.task_id, result.summary) == (task.instance_id, "edits give up after one ambiguous match")
    assert result.issue == "In tools/editor.py, show both places."


def test_the_test_output_keeps_the_failure_and_leaves_the_tests_code_out(tmp_path, inflection_task):
    tests = tmp_path / "suite" / "test_hidden.py"
    tests.parent.mkdir()
    tests.write_text("def test_hidden():\n    expected = 'HIDDEN-EXPECTATION'\n    got = 'x'\n"
                     "    assert got == expected, 'mismatch'\n")
    output = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                            capture_output=True, text=True, cwd=tests.parent).stdout
    assert "HIDDEN-EXPECTATION" in output.split("short test summary")[0]  # pytest shows the test's code
    log_dir = _failed_attempt(tmp_path / "logs", inflection_task, [], "", output)
    shown = diagnosis_context(GENOME, log_dir, inflection_task, "submitted", "llm", 60_000)["test_output"]
    assert "expected = 'HIDDEN-EXPECTATION'" not in shown and "source line(s) left out" in shown
    assert ">       assert got == expected, 'mismatch'" in shown  # the failing line and the error stay
    assert "E       AssertionError: mismatch" in shown and "test_hidden.py:4: AssertionError" in shown
    assert "1 failed" in shown


def test_the_repair_policy_is_shown_when_it_is_what_ran():
    assert any(f.startswith("agent/repair/") for f in files_run(GENOME, "repair"))
    assert not any(f.startswith("agent/repair/") for f in files_run(GENOME, "llm"))


def test_old_tool_outputs_are_elided_rather_than_the_start_cut(tmp_path):
    path = tmp_path / "trajectory.jsonl"
    records = [{"type": "message", "role": "user", "content": "THE TASK: fix the parser"}]
    records += [{"type": "tool", "name": "bash", "arguments": {"command": f"step {i}"}, "output": f"OUT{i} " + "x" * 5000}
                for i in range(40)]
    records.append({"type": "exit", "reason": "step_limit"})
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    text = render_trajectory(path, 60_000)
    assert len(text) <= 60_000
    assert text.startswith("[user]\nTHE TASK: fix the parser")
    assert all(f'"step {i}"' in text for i in range(40))  # every step is still there
    assert "OUT39 " + "x" * 4990 in text and "OUT2 " + "x" * 4990 not in text  # recent whole, old elided
    assert "characters elided" in text and "step_limit" in text


def test_an_empty_diagnosis_is_asked_again_then_fails_the_child():
    target = Target("task", "t1", "t1", "")
    with ScriptedLLMServer([ScriptedReply(content=""), ScriptedReply(content=ANSWER)]) as server:
        assert diagnose(_litellm_call(server), target, CONTEXT).summary.startswith("edits give up")
    assert len(server.requests) == 2
    with ScriptedLLMServer([ScriptedReply(content=""), ScriptedReply(content="I think the agent is fine.")]) as server:
        with pytest.raises(DiagnosisFailed, match="unusable twice.*without SUMMARY"):
            diagnose(_litellm_call(server), target, CONTEXT)
    assert len(server.requests) == 2


@pytest.mark.parametrize("model, room", [("openai/scripted", "max_tokens"), ("openai/o3-mini", "max_completion_tokens")])
def test_the_diagnosis_has_16k_tokens_of_room_as_max_completion_tokens_for_a_reasoning_model(tmp_path, model, room):
    """The engine's diagnosis call goes through the run's gateway as role "diagnose": with the
    default config it asks for model.max_tokens_diagnose (>= 8k), which a reasoning model gets
    as max_completion_tokens, so its thinking does not eat the answer."""
    config = load_config(None, {"model.name": model, "model.input_price_per_mtok": 1.0,
                                "model.output_price_per_mtok": 1.0})
    assert config.model.max_tokens_diagnose >= 8192
    with ScriptedLLMServer([ScriptedReply(content=ANSWER)]) as server:
        upstream = dataclasses.replace(upstream_for(config.model), api_base=server.url)
        with Gateway(upstream, tmp_path) as gateway:
            found = diagnose(lambda messages: gateway.chat({"messages": messages}, "v1", "diagnose")
                             ["choices"][0]["message"]["content"], Target("task", "t1", "t1", ""), CONTEXT)
    sent = server.requests[0]
    assert sent.get(room) == config.model.max_tokens_diagnose
    other = "max_tokens" if room == "max_completion_tokens" else "max_completion_tokens"
    assert not sent.get(other)  # one of them, never both
    assert found.summary == "edits give up after one ambiguous match"


def _attempt(task: str, resolved: bool = False, exit: str = "submitted", reason: str = "", empty: bool = False,
             key: str = "") -> Attempt:
    return Attempt(key or task, task, resolved, exit, reason, empty)


def test_infrastructure_failures_are_never_drawn():
    infra = [_attempt("a", exit="harness_error"), _attempt("b", exit="provider_error"),
             _attempt("c", reason="grading ended by timeout"), _attempt("d", reason="harness error: boom")]
    assert pick_target([*infra, _attempt("ok", resolved=True)], random.Random(0)) is None
    drawn = {pick_target([*infra, _attempt("real")], random.Random(seed)).task_id for seed in range(50)}
    assert drawn == {"real"}


@pytest.mark.parametrize("limit", ["task_budget_exceeded", "cost_limit", "deadline", "step_limit"])
def test_a_task_that_ran_out_of_its_own_limits_is_the_agents_failure_and_diagnosed_as_such(limit):
    targets = {pick_target([_attempt("t", exit=limit)], random.Random(seed)).kind for seed in range(50)}
    assert targets == {"task", "context_limit"}
    assert not is_infrastructure_failure(limit)
    assert is_infrastructure_failure("budget_exceeded")  # the run's budget, not the agent's doing


def test_special_entries_are_drawn_when_their_signal_is_present_each_with_its_own_prompt():
    attempts = [_attempt("t1", empty=True), _attempt("t2", exit="context_overflow"),
                _attempt("t3", resolved=True, key="t3@verify1"), _attempt("t3"), _attempt("t4", resolved=True)]
    targets = [pick_target(attempts, random.Random(seed)) for seed in range(200)]
    kinds = {t.kind: t for t in targets}
    assert set(kinds) == {"task", "empty_patches", "stochasticity", "context_limit"}
    assert kinds["empty_patches"].task_id == "t1" and kinds["context_limit"].task_id == "t2"
    assert kinds["stochasticity"].task_id == "t3" and kinds["stochasticity"].key == "t3"  # the attempt that failed
    prompts = {kind: render_prompt(target, CONTEXT) for kind, target in kinds.items()}
    assert len(set(prompts.values())) == 4
    assert "resolved it 1 time(s)" in prompts["stochasticity"] and "context_overflow" in prompts["context_limit"]
    assert "1 of the 4 tasks" in prompts["empty_patches"]
    assert all(p.startswith("You are improving a coding agent") and "SUMMARY:" in p for p in prompts.values())
    # without their signals only plain failures are drawn
    plain = [_attempt("t1"), _attempt("t2", resolved=True)]
    assert {pick_target(plain, random.Random(seed)).kind for seed in range(50)} == {"task"}

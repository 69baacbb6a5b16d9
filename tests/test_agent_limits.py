"""The seed agent's budget, context and replies it cannot run, end to end: `python -m agent solve`
on a real git repository against a model over real HTTP and real litellm (the scripted server,
or a server answering like the run's gateway with its spend headers and error codes)."""

from __future__ import annotations

import time

import pytest

from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from tests.gateway_like import Answer, GatewayLikeServer
from tests.gateway_like import call as answer_call
from tests.test_agent_loop import _records, _solve, call, repo  # noqa: F401  (repo is a fixture)

FIX = {"path": "calc.py", "old": "return a - b\n\n\ndef sub", "new": "return a + b\n\n\ndef sub"}


def _patch(repo) -> str:
    return (repo.parent / "out.patch").read_text()


def test_a_100_step_trajectory_finishes_without_a_limit_exit(repo):
    script = [call("str_replace", **FIX)] + [call("bash", command=f"echo step {i}") for i in range(99)] + [call("submit")]
    with ScriptedLLMServer(script) as server:
        result = _solve(repo, server)
    assert result.returncode == 0, result.stderr
    assert _records(repo)[-1]["reason"] == "submitted"
    assert len(server.requests) == 101
    assert server.requests[-1]["messages"][-1]["content"].endswith("[step 100 of 150]")
    assert "+    return a + b" in _patch(repo)


def test_a_trajectory_that_would_overflow_a_32k_window_stays_under_it(repo):
    # 60 reads of 120 lines: about 170k tokens of output in all, over 5 times the window
    (repo / "big.py").write_text("".join(f"value_{i} = compute_something({i}, 'a longer argument')  # note {i}\n"
                                         for i in range(400)))
    answers = [answer_call("view", path="big.py", start=i, end=i + 119) for i in range(1, 61)] + [answer_call("submit")]
    with GatewayLikeServer(answers) as server:
        result = _solve(repo, server, "--context-window", "32000")
    assert result.returncode == 0, result.stderr
    assert _records(repo)[-1]["reason"] == "submitted"
    one_output = server.prompt_tokens[1] - server.prompt_tokens[0]
    assert one_output * 60 > 5 * 32_000
    assert max(server.prompt_tokens) < 32_000
    last = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]
    assert "value_119 " in last[0] and "value_178 " in last[-1]  # the first and the latest turns stay whole
    elided = [m for m in last if m.startswith("[output elided")]
    assert elided and "characters from `view" in elided[0] and "big.py" in elided[0]
    assert any(r["type"] == "elided" for r in _records(repo))


def test_the_deadline_stops_a_long_command_and_writes_the_patch(repo):
    # The test waits out the limit: 25 s lets both steps start within the 22.5 s allowed (litellm's
    # import and first call took up to 17 s at a load average of 13 on 2 cores).
    script = [call("str_replace", **FIX), call("bash", command="sleep 90"), call("submit")]
    with ScriptedLLMServer(script) as server:
        result = _solve(repo, server, "--time-limit", "25")
    assert result.returncode == 0, result.stderr
    exit_record = _records(repo)[-1]
    assert exit_record["reason"] == "deadline" and "25 s" in exit_record["message"]
    assert "+    return a + b" in _patch(repo)


def test_the_time_limit_counts_from_the_task_clock_not_from_the_agent_start(repo):
    # The container's clock started 40 s before the agent (the repository's setup): of a 60 s
    # limit, at most 20 s are left; counted from the agent's own start, `sleep 90` would run 60 s.
    script = [call("str_replace", **FIX), call("bash", command="sleep 90"), call("submit")]
    started = time.monotonic()
    with ScriptedLLMServer(script) as server:
        result = _solve(repo, server, "--time-limit", "60", env={"DGM_CLOCK_START": f"{time.time() - 40:.0f}"})
    assert result.returncode == 0, result.stderr
    records = _records(repo)
    settings = next(r for r in records if r["type"] == "settings")
    assert settings["time_left"] < 21
    assert records[-1]["reason"] == "deadline"
    assert time.monotonic() - started < 45


def test_the_deadline_interrupts_a_slow_model_call_without_calling_it_a_provider_error(repo):
    def answer(body: dict) -> Answer:
        if len(body["messages"]) > 2:
            time.sleep(60)  # a long generation: the deadline comes first
        return answer_call("str_replace", **FIX)

    with GatewayLikeServer(answer) as server:
        result = _solve(repo, server, "--time-limit", "25")
    assert result.returncode == 0, result.stderr
    assert _records(repo)[-1]["reason"] == "deadline"
    assert "+    return a + b" in _patch(repo)


def test_the_task_cap_and_spend_come_from_the_run_gateway_and_end_the_task(repo, tmp_path, monkeypatch):
    # The real gateway between the agent and the provider: each call is billed $0.101, the task's
    # token is capped at $0.25; the agent shows what is left and stops once the cap is spent.
    monkeypatch.setenv("DGM_LIMITS_KEY", "sk-host-only")
    usage = {"prompt_tokens": 100_000, "completion_tokens": 1_000}
    script = [ScriptedReply(tool_calls=c.tool_calls, usage=usage) for c in
              [call("str_replace", **FIX), call("bash", command="true"), call("bash", command="true"),
               call("bash", command="true"), call("submit")]]
    with ScriptedLLMServer(script) as provider, Gateway(
        UpstreamConfig(model="openai/limits-model", api_base=provider.url, api_key_env="DGM_LIMITS_KEY",
                       input_price_per_mtok=1.0, output_price_per_mtok=1.0), tmp_path / "run",
    ) as gateway:
        token = gateway.issue_token("v1", "t1", task_budget=0.25)
        result = _solve(repo, gateway, env={"OPENAI_API_KEY": token})
    assert result.returncode == 0, result.stderr
    assert [r["messages"][-1]["content"].splitlines()[-1] for r in provider.requests[1:]] == [
        "[step 1 of 150, $0.15 of $0.25 left]", "[step 2 of 150, $0.05 of $0.25 left]"]
    assert _records(repo)[-1]["reason"] == "cost_limit" and len(provider.requests) == 3
    assert "+    return a + b" in _patch(repo)


def test_a_tool_call_cut_at_the_output_limit_is_explained_and_not_run(repo):
    cut = Answer(tool_calls=[{"name": "create", "arguments": '{"path": "new.py", "text": "def long_fun'}],
                 finish_reason="length")
    with GatewayLikeServer([cut, answer_call("submit")], budget=3.0, price_per_mtok=100.0) as server:
        result = _solve(repo, server)
    assert result.returncode == 0, result.stderr
    told = server.requests[1]["messages"][-1]
    assert told["role"] == "tool"
    assert "cut at the output-token limit" in told["content"] and "the call to create" in told["content"]
    assert "nothing was run" in told["content"] and "split a large edit" in told["content"]
    left = 3.0 - server.spent_after[0]
    assert told["content"].splitlines()[-1] == f"[step 1 of 150, ${left:.2f} of $3.00 left]" and left < 2.95
    assert not (repo / "new.py").exists()


def test_three_malformed_replies_in_a_row_end_the_task_and_keep_the_patch(repo):
    answers = [answer_call("str_replace", **FIX),
               Answer(content="I think the fix is done."),
               Answer(tool_calls=[{"name": "view", "arguments": '{"path": calc.py}'}]),
               answer_call("view", start=1),
               answer_call("submit")]
    with GatewayLikeServer(answers) as server:
        result = _solve(repo, server)
    assert result.returncode == 0, result.stderr
    assert _records(repo)[-1]["reason"] == "malformed_replies"
    assert len(server.requests) == 4
    told = [m["content"] for m in server.requests[3]["messages"][-3:] if m["role"] != "assistant"]
    assert "called no tool" in told[0] and "not a JSON object" in told[1]
    assert "+    return a + b" in _patch(repo)


def test_a_parallel_submit_runs_the_other_calls_of_its_batch(repo):
    batch = Answer(tool_calls=[{"name": "submit", "arguments": {}}, {"name": "str_replace", "arguments": FIX}])
    with GatewayLikeServer([batch]) as server:
        result = _solve(repo, server)
    assert result.returncode == 0, result.stderr
    records = _records(repo)
    assert records[-1]["reason"] == "submitted"
    assert [r["name"] for r in records if r["type"] == "tool"] == ["str_replace"]
    assert "+    return a + b" in _patch(repo)


@pytest.mark.parametrize("status, code, reason", [
    (402, "task_budget_exceeded", "task_budget_exceeded"),
    (503, "provider_unavailable", "provider_error"),
    (400, "context_length_exceeded", "context_overflow"),
])
def test_gateway_errors_end_the_task_with_their_exit_and_the_patch(repo, status, code, reason):
    with GatewayLikeServer([answer_call("str_replace", **FIX), Answer(status=status, code=code)]) as server:
        result = _solve(repo, server)
    assert result.returncode == 0, result.stderr
    exit_record = _records(repo)[-1]
    assert exit_record["reason"] == reason and code in exit_record["message"]
    assert "+    return a + b" in _patch(repo)


def test_a_model_without_function_calling_gets_the_text_format_and_its_own_prompt(repo):
    script = [ScriptedReply(content="```bash\nsed -i '2s/a - b/a + b/' calc.py\n```"),
              ScriptedReply(content="Done.\n```bash\nsubmit\n```")]
    with ScriptedLLMServer(script) as server:
        # litellm records ollama/llama2 without function calling, a 4096-token window and as many
        # output tokens (a quarter of the window is left for the answer)
        result = _solve(repo, server, env={"DGM_UPSTREAM_MODEL": "ollama/llama2", "DGM_ACTION_FORMAT": "auto"})
    assert result.returncode == 0, result.stderr
    request = server.requests[0]
    assert "tools" not in request
    system = request["messages"][0]["content"]
    assert "```bash" in system and not any(tool in system for tool in ("str_replace", "find_definition", "`view`"))
    settings = next(r for r in _records(repo) if r["type"] == "settings")
    assert settings["action_format"] == "text" and settings["context_window"] == 3072
    assert server.requests[1]["messages"][-1]["content"].startswith("Output:\nexit code: 0")
    assert "+    return a + b" in _patch(repo)

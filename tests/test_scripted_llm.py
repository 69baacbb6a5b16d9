"""The scripted server speaks OpenAI chat completions well enough for the real litellm client."""

from __future__ import annotations

import json
import os

import pytest

from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply, load_script

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")


@pytest.fixture(scope="module")
def litellm():
    import litellm

    return litellm


def test_litellm_receives_tool_calls_then_text_in_script_order(litellm):
    replies = [ScriptedReply(tool_calls=[{"name": "view", "arguments": {"path": "a.py"}}]),
               ScriptedReply(content="done")]
    with ScriptedLLMServer(replies) as server:
        first = litellm.completion(model="openai/scripted", api_base=server.url, api_key="k",
                                   messages=[{"role": "user", "content": "fix it"}],
                                   tools=[{"type": "function", "function": {"name": "view", "parameters": {"type": "object"}}}])
        second = litellm.completion(model="openai/scripted", api_base=server.url, api_key="k",
                                    messages=[{"role": "user", "content": "and now?"}])
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "view" and json.loads(call.function.arguments) == {"path": "a.py"}
    assert first.choices[0].finish_reason == "tool_calls"
    assert second.choices[0].message.content == "done"
    assert first.usage.prompt_tokens == len("fix it") // 4
    assert server.requests[0]["messages"] == [{"role": "user", "content": "fix it"}]
    assert server.authorizations == ["Bearer k", "Bearer k"]


def test_error_statuses_and_an_exhausted_script_reach_the_client(litellm):
    with ScriptedLLMServer([ScriptedReply(status=402, error="budget gone")]) as server:
        with pytest.raises(Exception, match="budget gone"):
            litellm.completion(model="openai/scripted", api_base=server.url, api_key="k", num_retries=0,
                               messages=[{"role": "user", "content": "x"}])
        with pytest.raises(Exception, match="script is exhausted"):
            litellm.completion(model="openai/scripted", api_base=server.url, api_key="k", num_retries=0,
                               max_retries=0, messages=[{"role": "user", "content": "x"}])


def test_a_script_file_and_a_conditional_responder(tmp_path, litellm):
    path = tmp_path / "script.json"
    path.write_text(json.dumps([{"content": "hello", "usage": {"prompt_tokens": 7, "completion_tokens": 3}}]))
    (reply,) = load_script(path)
    with ScriptedLLMServer([reply]) as server:
        response = litellm.completion(model="openai/scripted", api_base=server.url, api_key="k",
                                      messages=[{"role": "user", "content": "hi"}])
    assert response.usage.prompt_tokens == 7 and response.usage.total_tokens == 10

    echo = lambda body: ScriptedReply(content=body["messages"][-1]["content"].upper())  # noqa: E731
    with ScriptedLLMServer(echo) as server:
        response = litellm.completion(model="openai/scripted", api_base=server.url, api_key="k",
                                      messages=[{"role": "user", "content": "shout"}])
    assert response.choices[0].message.content == "SHOUT"


def test_scripted_faults_reach_litellm_as_the_errors_real_providers_cause(litellm):
    from dgm import scripted_llm as s

    replies = [s.rate_limited(retry_after=7), s.overloaded(), s.server_error(502), s.connection_reset(),
               s.context_window_exceeded(), s.refused()]
    expected = [(litellm.RateLimitError, 429), (litellm.APIError, 529), (litellm.BadGatewayError, 502),
                (litellm.InternalServerError, 500), (litellm.ContextWindowExceededError, 400),
                (litellm.ContentPolicyViolationError, 400)]
    with ScriptedLLMServer(replies) as server:
        for kind, status in expected:
            with pytest.raises(kind) as raised:
                litellm.completion(model="openai/scripted", api_base=server.url, api_key="k", num_retries=0,
                                   max_retries=0, messages=[{"role": "user", "content": "x"}])
            assert raised.value.status_code == status
            if kind is litellm.RateLimitError:
                assert raised.value.response.headers["retry-after"] == "7"


def test_a_cut_tool_call_and_detailed_usage_reach_litellm(litellm):
    from dgm.scripted_llm import cut_tool_call

    usage = {"prompt_tokens": 900, "completion_tokens": 60, "prompt_tokens_details": {"cached_tokens": 800},
             "completion_tokens_details": {"reasoning_tokens": 40}}
    with ScriptedLLMServer([cut_tool_call("editor", '{"path": "a.py", "new_str": "def f(', 4096),
                            ScriptedReply(content="ok", usage=usage)]) as server:
        cut = litellm.completion(model="openai/scripted", api_base=server.url, api_key="k",
                                 messages=[{"role": "user", "content": "x"}])
        detailed = litellm.completion(model="openai/scripted", api_base=server.url, api_key="k",
                                      messages=[{"role": "user", "content": "x"}])
    assert cut.choices[0].finish_reason == "length"
    assert cut.choices[0].message.tool_calls[0].function.arguments == '{"path": "a.py", "new_str": "def f('
    assert detailed.usage.prompt_tokens_details.cached_tokens == 800
    assert detailed.usage.completion_tokens_details.reasoning_tokens == 40


def test_a_cut_tool_call_reaches_litellm_in_the_anthropic_dialect(litellm):
    from dgm.scripted_llm import cut_tool_call

    with ScriptedLLMServer([cut_tool_call("editor", '{"path": "a.py", "new_str": "def f(')]) as server:
        cut = litellm.completion(model="anthropic/claude-sonnet-4-5", api_base=server.url.removesuffix("/v1"),
                                 api_key="k", max_tokens=4096, messages=[{"role": "user", "content": "x"}])
    assert cut.choices[0].finish_reason == "length"
    assert cut.choices[0].message.tool_calls[0].function.name == "editor"


def test_a_slow_reply_arrives_after_its_delay(litellm):
    import time

    from dgm.scripted_llm import slow

    with ScriptedLLMServer([slow(ScriptedReply(content="late"), 0.5)]) as server:
        started = time.monotonic()
        response = litellm.completion(model="openai/scripted", api_base=server.url, api_key="k",
                                      messages=[{"role": "user", "content": "x"}])
    assert response.choices[0].message.content == "late" and time.monotonic() - started >= 0.5

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

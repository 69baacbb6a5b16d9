"""The gateway end to end: litellm client -> gateway (HTTP) -> litellm -> scripted upstream."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
KEY = "sk-host-secret-123"


@pytest.fixture(scope="module")
def litellm():
    import litellm

    return litellm


@pytest.fixture()
def host_key(monkeypatch):
    monkeypatch.setenv("DGM_TEST_UPSTREAM_KEY", KEY)
    return "DGM_TEST_UPSTREAM_KEY"


def _upstream(server: ScriptedLLMServer, key_env: str, **kw) -> UpstreamConfig:
    return UpstreamConfig(model="openai/dgm-test-model", api_base=server.url, api_key_env=key_env,
                          input_price_per_mtok=2.0, output_price_per_mtok=10.0, retry_first_delay=0.01, **kw)


def _ask(litellm, gateway: Gateway, token: str, text: str = "hello", **kw):
    return litellm.completion(model="openai/gateway", api_base=gateway.url, api_key=token, num_retries=0,
                              max_retries=0, messages=[{"role": "user", "content": text}], **kw)


def test_tool_calls_pass_through_and_usage_is_metered_per_variant_and_task(litellm, tmp_path, host_key):
    replies = [ScriptedReply(tool_calls=[{"name": "bash", "arguments": {"command": "ls"}}],
                             usage={"prompt_tokens": 1000, "completion_tokens": 100}),
               ScriptedReply(content="ok", usage={"prompt_tokens": 500, "completion_tokens": 50})]
    with ScriptedLLMServer(replies) as upstream, Gateway(_upstream(upstream, host_key), tmp_path) as gateway:
        a = gateway.issue_token("v1", "task-a")
        b = gateway.issue_token("v2", "task-b")
        first = _ask(litellm, gateway, a, tools=[{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}])
        _ask(litellm, gateway, b)
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "bash" and json.loads(call.function.arguments) == {"command": "ls"}
    assert upstream.requests[0]["tools"][0]["function"]["name"] == "bash"
    v1 = gateway.usage(variant_id="v1")
    assert (v1.calls, v1.prompt_tokens, v1.completion_tokens) == (1, 1000, 100)
    assert v1.cost == pytest.approx((1000 * 2.0 + 100 * 10.0) / 1e6)
    assert gateway.usage(task_id="task-b").cost == pytest.approx((500 * 2.0 + 50 * 10.0) / 1e6)
    assert gateway.spent == pytest.approx(v1.cost + gateway.usage(variant_id="v2").cost)


def test_the_key_reaches_the_upstream_but_never_the_log_or_the_caller(litellm, tmp_path, host_key):
    with ScriptedLLMServer([ScriptedReply(content="hi")]) as upstream, \
            Gateway(_upstream(upstream, host_key), tmp_path) as gateway:
        token = gateway.issue_token("v1", "t1")
        _ask(litellm, gateway, token)
    assert upstream.authorizations == [f"Bearer {KEY}"]
    log = (tmp_path / "llm_calls.jsonl").read_text()
    assert KEY not in log
    (line,) = [json.loads(x) for x in log.splitlines()]
    assert line["variant"] == "v1" and line["task"] == "t1" and line["status"] == 200
    assert line["prompt_tokens"] > 0 and line["cost"] >= 0 and line["latency"] > 0


def test_calls_past_the_budget_are_refused_with_402(litellm, tmp_path, host_key):
    replies = [ScriptedReply(content="x", usage={"prompt_tokens": 10_000, "completion_tokens": 0})] * 3
    with ScriptedLLMServer(replies) as upstream, \
            Gateway(_upstream(upstream, host_key), tmp_path, budget=0.015) as gateway:
        token = gateway.issue_token("v1", "t1")
        _ask(litellm, gateway, token, max_tokens=10)  # $0.02: over the budget once done
        with pytest.raises(Exception, match=r"budget of \$0.0150 is spent") as refused:
            _ask(litellm, gateway, token, max_tokens=10)
    assert getattr(refused.value, "status_code", None) == 402
    assert len(upstream.requests) == 1


def test_a_zero_budget_refuses_the_first_call(tmp_path, host_key):
    with ScriptedLLMServer([]) as upstream, Gateway(_upstream(upstream, host_key), tmp_path, budget=0.0) as gateway:
        token = gateway.issue_token("v1", "t1")
        response = httpx.post(f"{gateway.url}/chat/completions", headers={"Authorization": f"Bearer {token}"},
                              json={"model": "x", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "budget_exceeded"
    assert upstream.requests == []


def test_rate_limits_and_unavailability_are_retried(litellm, tmp_path, host_key):
    replies = [ScriptedReply(status=429, error="slow down"), ScriptedReply(status=503, error="busy"),
               ScriptedReply(content="finally")]
    with ScriptedLLMServer(replies) as upstream, Gateway(_upstream(upstream, host_key), tmp_path) as gateway:
        response = _ask(litellm, gateway, gateway.issue_token("v1", "t1"))
    assert response.choices[0].message.content == "finally"
    assert len(upstream.requests) == 3
    assert gateway.usage().calls == 1


def test_unknown_tokens_are_refused(tmp_path, host_key):
    with ScriptedLLMServer([]) as upstream, Gateway(_upstream(upstream, host_key), tmp_path) as gateway:
        response = httpx.post(f"{gateway.url}/chat/completions", headers={"Authorization": "Bearer nope"},
                              json={"messages": []})
    assert response.status_code == 401
    assert upstream.requests == []


def test_the_unix_socket_serves_the_same_api(tmp_path, host_key):
    socket_path = tmp_path / "gw" / "llm.sock"
    with ScriptedLLMServer([ScriptedReply(content="via socket")]) as upstream, \
            Gateway(_upstream(upstream, host_key), tmp_path, socket_path=socket_path) as gateway:
        token = gateway.issue_token("v9", "t9")
        client = httpx.Client(transport=httpx.HTTPTransport(uds=str(socket_path)))
        response = client.post("http://gateway/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                               json={"model": "x", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "via socket"
    assert gateway.usage(variant_id="v9").calls == 1

"""What real providers do on a bad night, through real litellm and real HTTP: the agent's litellm
client -> the gateway -> litellm -> the scripted provider answering with faults."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from dgm.llm import server
from dgm.llm.budget import UnknownPrice
from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import (
    ScriptedLLMServer, ScriptedReply, connection_reset, context_window_exceeded, overloaded, rate_limited, refused,
    server_error, slow,
)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
OK = ScriptedReply(content="ok", usage={"prompt_tokens": 100, "completion_tokens": 10})


@pytest.fixture(scope="module")
def litellm():
    import litellm

    return litellm


def _upstream(provider: ScriptedLLMServer, **kw) -> UpstreamConfig:
    settings = {"input_price_per_mtok": 2.0, "output_price_per_mtok": 10.0, "retry_first_delay": 0.01,
                "retry_total_wait": 5.0, **kw}
    return UpstreamConfig(model=kw.pop("model", "openai/dgm-test-model"), api_base=provider.url,
                          **{k: v for k, v in settings.items() if k != "model"})


def _post(gateway: Gateway, token: str, **body) -> httpx.Response:
    return httpx.post(f"{gateway.url}/chat/completions", headers={"Authorization": f"Bearer {token}"}, timeout=60,
                      json={"model": "gateway", "messages": [{"role": "user", "content": "hi"}], **body})


@pytest.mark.parametrize("fault", [rate_limited(), overloaded(), server_error(500), server_error(502),
                                   server_error(503), connection_reset()],
                         ids=["429", "529", "500", "502", "503", "reset"])
def test_each_transient_fault_is_retried_until_the_provider_answers(litellm, tmp_path, fault):
    with ScriptedLLMServer([fault, fault, OK]) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        response = litellm.completion(model="openai/gateway", api_base=gateway.url, num_retries=0, max_retries=0,
                                      api_key=gateway.issue_token("v1", "t1"),
                                      messages=[{"role": "user", "content": "hi"}])
    assert response.choices[0].message.content == "ok"
    assert len(provider.requests) == 3
    assert gateway.usage().calls == 1 and gateway.spent == pytest.approx((100 * 2 + 10 * 10) / 1e6)
    attempts = [json.loads(line) for line in (tmp_path / "llm_calls.jsonl").read_text().splitlines()]
    assert [a["attempt"] for a in attempts] == [0, 1, 2] and attempts[-1]["status"] == 200


def test_retry_after_is_honoured(tmp_path):
    with ScriptedLLMServer([rate_limited(retry_after=1.5), OK]) as provider, \
            Gateway(_upstream(provider), tmp_path) as gateway:
        started = time.monotonic()
        response = _post(gateway, gateway.issue_token("v1", "t1"))
        took = time.monotonic() - started
    assert response.status_code == 200
    assert took >= 1.5  # the first backoff alone is 0.01 s


@pytest.mark.parametrize(("fault", "code"), [(context_window_exceeded(), "context_length_exceeded"),
                                             (refused(), "content_policy"),
                                             (ScriptedReply(status=400, error="temperature is not supported"),
                                              "upstream_error")])
def test_a_400_is_never_retried_and_reaches_the_agent_with_its_code(tmp_path, fault, code):
    with ScriptedLLMServer([fault, OK]) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        response = _post(gateway, gateway.issue_token("v1", "t1"))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert len(provider.requests) == 1
    assert not gateway.health.failed_for("v1", "t1")  # the agent's own problem: a result like any other


CREDIT = "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade."


@pytest.mark.parametrize("fault", [
    ScriptedReply(status=401, error_body={"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                                    "code": "invalid_api_key"}}),
    ScriptedReply(status=404, error_body={"error": {"message": "The model `dgm-test-model` does not exist",
                                                    "type": "invalid_request_error", "code": "model_not_found"}}),
    ScriptedReply(status=400, error_body={"type": "error", "error": {"type": "invalid_request_error", "message": CREDIT}}),
], ids=["expired-key", "model-gone", "out-of-credit"])
def test_a_fault_of_the_runs_key_model_or_account_is_the_providers_not_the_agents(tmp_path, fault):
    with ScriptedLLMServer([fault, OK]) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        response = _post(gateway, gateway.issue_token("v1", "t1"))
    # provider_unavailable: the agent ends with provider_error, its evaluation runs again, and
    # such failures in a row pause the run with the provider's words
    assert response.status_code == 503 and response.json()["error"]["code"] == "provider_unavailable"
    assert "then `dgm resume`" in response.json()["error"]["message"]
    assert len(provider.requests) == 1  # never retried: it would fail the same way
    assert gateway.health.failed_for("v1", "t1")


def test_a_provider_that_keeps_failing_answers_503_then_counts_as_down(tmp_path):
    with ScriptedLLMServer(lambda body: server_error(503)) as provider, \
            Gateway(_upstream(provider, retry_total_wait=0.1, pause_after_failures=2), tmp_path) as gateway:
        token = gateway.issue_token("v1", "t1")
        first = _post(gateway, token)
        assert not gateway.health.down()
        _post(gateway, token)
        asked = len(provider.requests)
        third = _post(gateway, gateway.issue_token("v2", "t2"))
    assert first.status_code == 503 and first.json()["error"]["code"] == "provider_unavailable"
    assert "after the gateway's retries" in first.json()["error"]["message"]
    assert "2 calls in a row" in gateway.health.down()
    # once down, calls are refused at once (no provider request) and their work marked as lost
    assert third.status_code == 503 and len(provider.requests) == asked
    assert gateway.health.failed_for("v1", "t1") and gateway.health.failed_for("v2", "t2")


def test_the_concurrency_limit_is_shared_by_every_caller(tmp_path):
    seen, lock = [0], threading.Lock()

    def provider_side(body):
        with lock:
            seen[0] += 1
        return slow(ScriptedReply(content="ok", usage={"prompt_tokens": 10, "completion_tokens": 1}), 0.4)

    with ScriptedLLMServer(provider_side) as provider, \
            Gateway(_upstream(provider, max_concurrent_calls=2), tmp_path) as gateway:
        tokens = [gateway.issue_token(f"v{i}", "t") for i in range(6)]
        started = time.monotonic()
        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(lambda t: _post(gateway, t).status_code, tokens))
        took = time.monotonic() - started
    assert codes == [200] * 6 and seen[0] == 6
    assert took >= 3 * 0.4  # three waves of two; unlimited, all six would take one wave


def test_the_budget_holds_with_20_concurrent_calls(tmp_path):
    reply = slow(ScriptedReply(content="x" * 400, usage={"prompt_tokens": 300, "completion_tokens": 100}), 0.2)
    budget = 0.01  # each call costs $0.0016 and may cost at most ~$0.0019: some must be refused
    messages = [{"role": "user", "content": "y" * 1200}]
    with ScriptedLLMServer(lambda body: reply) as provider, \
            Gateway(_upstream(provider), tmp_path, budget=budget) as gateway:
        tokens = [gateway.issue_token(f"v{i}", "t") for i in range(20)]
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda t: _post(gateway, t, messages=messages, max_tokens=100), tokens))
    codes = [a.status_code for a in answers]
    assert codes.count(200) >= 5 and codes.count(402) >= 1 and set(codes) == {200, 402}
    assert all(a.json()["error"]["code"] == "budget_exceeded" for a in answers if a.status_code == 402)
    logged = sum(json.loads(line)["cost"] for line in (tmp_path / "llm_calls.jsonl").read_text().splitlines())
    assert gateway.spent == pytest.approx(logged) and gateway.spent <= budget
    assert gateway.ledger.reserved == pytest.approx(0.0)


def test_a_task_cap_is_reported_in_headers_and_enforced(tmp_path):
    reply = ScriptedReply(content="x", usage={"prompt_tokens": 1000, "completion_tokens": 10})
    with ScriptedLLMServer(lambda body: reply) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        capped = gateway.issue_token("v1", "t1", task_budget=0.004)
        messages = [{"role": "user", "content": "z" * 4000}]  # reserved at ~$0.0028 a call
        first = _post(gateway, capped, messages=messages, max_tokens=10)  # costs $0.0021
        second = _post(gateway, capped, messages=messages, max_tokens=10)
        other = _post(gateway, gateway.issue_token("v1", "t2"), messages=messages, max_tokens=10)
    assert first.status_code == 200
    assert float(first.headers["x-dgm-task-spent"]) == pytest.approx(0.0021)
    assert float(first.headers["x-dgm-task-budget"]) == pytest.approx(0.004)
    assert second.status_code == 402 and second.json()["error"]["code"] == "task_budget_exceeded"
    assert other.status_code == 200 and "x-dgm-task-budget" not in other.headers


def test_a_model_without_a_price_is_refused_with_the_key_to_set(tmp_path):
    with ScriptedLLMServer([]) as provider:
        with pytest.raises(UnknownPrice, match="set model.input_price_per_mtok and model.output_price_per_mtok"):
            Gateway(UpstreamConfig("openai/no-such-model-anywhere", provider.url), tmp_path)
        free = Gateway(UpstreamConfig("openai/no-such-model-anywhere", provider.url, input_price_per_mtok=0,
                                      output_price_per_mtok=0), tmp_path)
    assert free.prices.input == 0.0 and free.prices.output == 0.0


def test_cached_and_reasoning_tokens_are_priced_at_list_price_and_logged(tmp_path):
    usage = {"prompt_tokens": 10_000, "completion_tokens": 500, "prompt_tokens_details": {"cached_tokens": 8_000},
             "completion_tokens_details": {"reasoning_tokens": 300}}
    with ScriptedLLMServer([ScriptedReply(content="ok", usage=usage)]) as provider, \
            Gateway(UpstreamConfig("openai/gpt-4o", provider.url), tmp_path) as gateway:
        assert _post(gateway, gateway.issue_token("v1", "t1")).status_code == 200
    # gpt-4o in litellm's map: $2.50 input, $1.25 cached input, $10 output per million
    expected = (2_000 * 2.5 + 8_000 * 1.25 + 500 * 10.0) / 1e6
    (line,) = [json.loads(x) for x in (tmp_path / "llm_calls.jsonl").read_text().splitlines()]
    assert line["cost"] == pytest.approx(expected) and gateway.spent == pytest.approx(expected)
    assert (line["cache_read_tokens"], line["reasoning_tokens"]) == (8_000, 300)


def test_an_answer_without_usage_is_priced_from_its_sizes_not_free(tmp_path):
    # a proxy or local server that reports no usage (litellm then says 0 tokens)
    silent = ScriptedReply(content="done " * 200, usage={"prompt_tokens": 0, "completion_tokens": 0})
    with ScriptedLLMServer([silent]) as provider, Gateway(_upstream(provider), tmp_path, budget=1.0) as gateway:
        response = _post(gateway, gateway.issue_token("v1", "t1"), messages=[{"role": "user", "content": "q" * 3000}])
    assert response.status_code == 200
    (line,) = [json.loads(x) for x in (tmp_path / "llm_calls.jsonl").read_text().splitlines()]
    # at least its prompt (3,000 characters, ~750 tokens at $2/M) and its answer (~250 tokens at $10/M)
    assert line["cost_estimated"] and line["cost"] >= (750 * 2.0 + 250 * 10.0) / 1e6
    assert gateway.spent == pytest.approx(line["cost"])


def test_a_timed_out_attempt_is_charged_at_its_worst_case_then_retried(tmp_path):
    with ScriptedLLMServer([slow(OK, 2.0), OK]) as provider, \
            Gateway(_upstream(provider, timeout=0.5), tmp_path) as gateway:
        response = _post(gateway, gateway.issue_token("v1", "t1"), max_tokens=10)
    assert response.status_code == 200
    first, second = [json.loads(x) for x in (tmp_path / "llm_calls.jsonl").read_text().splitlines()]
    assert first["status"] == 408 and first["cost"] > 0
    assert gateway.spent == pytest.approx(first["cost"] + second["cost"])


def test_timed_out_attempts_use_up_the_calls_wait_so_few_are_paid_for(tmp_path):
    # each attempt times out after 0.25 s (0.2 s + 50 ms for its one output token); counting only
    # the backoff sleeps (0.01, 0.02, ... s) the 0.6 s allowed would let six attempts be paid for
    with ScriptedLLMServer(lambda body: slow(OK, 2.0)) as provider, \
            Gateway(_upstream(provider, timeout=0.2, retry_total_wait=0.6), tmp_path) as gateway:
        response = _post(gateway, gateway.issue_token("v1", "t1"), max_tokens=1)
    assert response.status_code == 503 and response.json()["error"]["code"] == "provider_unavailable"
    attempts = [json.loads(x) for x in (tmp_path / "llm_calls.jsonl").read_text().splitlines()]
    assert 1 <= len(attempts) <= 3 and all(a["status"] == 408 and a["cost"] > 0 for a in attempts)


def test_config_extras_reach_the_provider(tmp_path):
    with ScriptedLLMServer([OK]) as provider, \
            Gateway(_upstream(provider, extra={"reasoning_effort": "low", "seed": 7}), tmp_path) as gateway:
        _post(gateway, gateway.issue_token("v1", "t1"))
    (sent,) = provider.requests
    assert sent["reasoning_effort"] == "low" and sent["seed"] == 7


# --- a gateway a container cannot exhaust ---------------------------------------------------------


def test_idle_connections_hold_no_thread_and_calls_still_go_through(tmp_path):
    with ScriptedLLMServer([OK]) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        host, port = gateway.address.rsplit(":", 1)
        threads = threading.active_count()
        idle = [socket.create_connection((host, int(port))) for _ in range(500)]
        time.sleep(0.5)
        assert threading.active_count() <= threads + 2
        started = time.monotonic()
        response = _post(gateway, gateway.issue_token("v1", "t1"))
        assert response.status_code == 200 and time.monotonic() - started < 5
        for s in idle:
            s.close()


def test_idle_connections_are_closed_after_the_read_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "READ_TIMEOUT", 0.5)
    with ScriptedLLMServer([]) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        host, port = gateway.address.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as idle:
            idle.settimeout(5)
            assert idle.recv(100) == b""  # closed by the gateway, not by our timeout


def test_a_flood_of_idle_connections_does_not_lock_out_a_caller(tmp_path):
    # past the queue's bound the longest-waiting connection goes, not the caller that just arrived
    with ScriptedLLMServer(lambda body: OK) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        host, port = gateway.address.rsplit(":", 1)
        idle = [socket.create_connection((host, int(port))) for _ in range(3000)]
        time.sleep(0.5)
        token = gateway.issue_token("v1", "t1")
        codes = [_post(gateway, token).status_code for _ in range(3)]
        for s in idle:
            s.close()
    assert codes == [200, 200, 200]


def test_requests_trickled_byte_by_byte_are_cut_off_and_free_their_threads(tmp_path, monkeypatch):
    monkeypatch.setattr(server, "READ_TIMEOUT", 1.0)
    stop = threading.Event()
    with ScriptedLLMServer(lambda body: OK) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        host, port = gateway.address.rsplit(":", 1)
        slow_ones = [socket.create_connection((host, int(port))) for _ in range(server.WORKERS + 16)]

        def trickle() -> None:  # a header line every 0.2 s: each read is quick, the request never ends
            for s in slow_ones:
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\n")
            while not stop.wait(0.2):
                for s in slow_ones:
                    try:
                        s.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        pass

        threading.Thread(target=trickle, daemon=True).start()
        time.sleep(0.5)  # every handler thread is now reading a trickle
        started = time.monotonic()
        answer = _post(gateway, gateway.issue_token("v1", "t1"))
        took = time.monotonic() - started
        slow_ones[0].settimeout(5)
        cut = slow_ones[0].recv(100)  # what the gateway says to a trickler, once its time is up
        stop.set()
        for s in slow_ones:
            s.close()
    assert answer.status_code == 200 and took < 5  # without the deadline: never, while the trickle goes on
    # cut off: closed, or answered as what arrived (headers without a token: 401)
    assert cut == b"" or cut.startswith((b"HTTP/1.0 400", b"HTTP/1.0 401"))


@pytest.mark.parametrize(("length", "status"), [("-1", 400), ("abc", 400), (str(2 * 1024**3), 413)])
def test_bad_or_huge_content_lengths_are_refused_before_reading(tmp_path, length, status):
    with ScriptedLLMServer([]) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        token = gateway.issue_token("v1", "t1")
        host, port = gateway.address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                      f"Content-Length: {length}\r\n\r\n{{".encode())
            answer = s.recv(4096).decode()
    assert answer.startswith(f"HTTP/1.0 {status}")
    assert provider.requests == []


def test_a_revoked_token_is_refused(tmp_path):
    with ScriptedLLMServer([OK, OK]) as provider, Gateway(_upstream(provider), tmp_path) as gateway:
        token = gateway.issue_token("v1", "t1")
        assert _post(gateway, token).status_code == 200
        gateway.revoke_token(token)
        refused_now = _post(gateway, token)
    assert refused_now.status_code == 401 and len(provider.requests) == 1


def test_host_and_sandbox_share_one_litellm_version():
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parent.parent
    host = next(Requirement(r) for r in tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
                if r.startswith("litellm"))
    pin = next(line.split("==")[1] for line in (root / "sandbox/requirements.txt").read_text().splitlines()
               if line.startswith("litellm=="))
    assert host.specifier.contains(pin)
    assert not host.specifier.contains("1.82.7") and not host.specifier.contains("1.82.8")


# --- prompt caching ---------------------------------------------------------------------------


def test_anthropic_prompts_are_marked_for_caching_and_hits_are_priced_and_logged(litellm, tmp_path):
    system = {"role": "system", "content": "You are a careful coding agent. " * 200}
    history = [system, {"role": "user", "content": "Fix the failing test. " * 100}]
    with ScriptedLLMServer(lambda body: ScriptedReply(content="looking")) as provider, \
            Gateway(UpstreamConfig("anthropic/claude-sonnet-4-5", provider.url.removesuffix("/v1"),
                                   retry_first_delay=0.01), tmp_path) as gateway:
        token = gateway.issue_token("v1", "t1")
        for turn in range(2):
            litellm.completion(model="openai/gateway", api_base=gateway.url, api_key=token, num_retries=0,
                               max_retries=0, messages=history)
            history += [{"role": "assistant", "content": "looking"},
                        {"role": "user", "content": f"output {turn} " * 300}]
    first, second = provider.requests
    assert first["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert first["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in json.dumps(second["messages"][:-1])  # only the last message is marked
    calls = [json.loads(line) for line in (tmp_path / "llm_calls.jsonl").read_text().splitlines()]
    assert calls[0]["cache_read_tokens"] == 0 and calls[0]["cache_write_tokens"] > 0
    assert calls[1]["cache_read_tokens"] == calls[0]["cache_write_tokens"]  # the first call's prefix, read back
    # claude-sonnet-4-5 in litellm's map: $3 input, $3.75 cache write, $0.30 cache read, $15 output per million
    fresh = calls[1]["prompt_tokens"] - calls[1]["cache_read_tokens"] - calls[1]["cache_write_tokens"]
    assert calls[1]["cost"] == pytest.approx((fresh * 3 + calls[1]["cache_write_tokens"] * 3.75
                                              + calls[1]["cache_read_tokens"] * 0.3
                                              + calls[1]["completion_tokens"] * 15) / 1e6)


def test_caching_off_sends_no_breakpoints(tmp_path):
    with ScriptedLLMServer([ScriptedReply(content="ok")]) as provider, \
            Gateway(UpstreamConfig("anthropic/claude-sonnet-4-5", provider.url.removesuffix("/v1"),
                                   prompt_caching=False), tmp_path) as gateway:
        _post(gateway, gateway.issue_token("v1", "t1"))
    assert "cache_control" not in json.dumps(provider.requests[0])


def test_a_tool_result_marked_in_one_step_is_read_from_the_cache_in_the_next(litellm, tmp_path):
    tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
    history = [{"role": "system", "content": "You are a careful coding agent. " * 200},
               {"role": "user", "content": "Fix the failing test. " * 100}]
    reply = ScriptedReply(tool_calls=[{"name": "bash", "arguments": {"command": "ls"}}])
    with ScriptedLLMServer(lambda body: reply) as provider, \
            Gateway(UpstreamConfig("anthropic/claude-sonnet-4-5", provider.url.removesuffix("/v1")),
                    tmp_path) as gateway:
        token = gateway.issue_token("v1", "t1")
        for step in range(3):
            answer = litellm.completion(model="openai/gateway", api_base=gateway.url, api_key=token, num_retries=0,
                                        max_retries=0, messages=history, tools=tools)
            call = answer.choices[0].message.tool_calls[0]
            function = {"name": "bash", "arguments": call.function.arguments}
            history += [{"role": "assistant", "content": None, "tool_calls": [
                {"id": call.id, "type": "function", "function": function}]},
                {"role": "tool", "tool_call_id": call.id, "content": f"file_{step}.py\n" * 200}]
    calls = [json.loads(line) for line in (tmp_path / "llm_calls.jsonl").read_text().splitlines()]
    for before, after in zip(calls, calls[1:]):
        assert after["cache_read_tokens"] == before["cache_read_tokens"] + before["cache_write_tokens"]


def test_max_tokens_defaults_to_the_role_and_is_capped_there(tmp_path):
    with ScriptedLLMServer([OK, OK, OK]) as provider, \
            Gateway(_upstream(provider, max_tokens={"agent": 1000, "diagnose": 3000, "self_modify": 1000}),
                    tmp_path) as gateway:
        token = gateway.issue_token("v1", "t1")
        _post(gateway, token)
        _post(gateway, token, max_tokens=10**9)
        gateway.chat({"messages": [{"role": "user", "content": "why?"}]}, "v1", "diagnose")
    assert [r["max_tokens"] for r in provider.requests] == [1000, 1000, 3000]


def test_the_tokens_per_minute_limit_holds_calls_back_until_the_window_frees(tmp_path, monkeypatch):
    from dgm.llm import throttle

    monkeypatch.setattr(throttle, "WINDOW", 1.0)  # a one-second "minute"
    with ScriptedLLMServer(lambda body: OK) as provider, \
            Gateway(_upstream(provider, tokens_per_minute=250), tmp_path) as gateway:
        token = gateway.issue_token("v1", "t1")
        started = time.monotonic()
        first_two = [_post(gateway, token, max_tokens=100).status_code for _ in range(2)]
        two = time.monotonic() - started
        third = _post(gateway, token, max_tokens=100).status_code
        three = time.monotonic() - started
    assert first_two == [200, 200] and third == 200
    assert two < 1.0 <= three  # about 110 tokens a call: the third waits for the first to leave the window


def test_status_shows_spend_with_what_calls_in_flight_hold(tmp_path):
    from archive.db import RunLock
    from dgm.config import Config
    from dgm.engine import new_run
    from dgm.llm.budget import STATE_FILE
    from dgm.run_cli import SEED_SOURCE
    from dgm.run_status import run_status

    run = new_run(tmp_path / "run", Config(), SEED_SOURCE)
    run.db().set_meta("state", "running")
    (run.path / STATE_FILE).write_text(json.dumps({"spent": 1.5, "reserved": 0.25}))
    with RunLock(run.path):  # a live owner: the run counts as going
        assert "cost $1.5000 (+$0.2500 in flight)" in run_status(run, 8).line()
    assert "in flight" not in run_status(run, 8).line()  # nothing is in flight once its owner is gone


def test_dgm_run_refuses_an_unpriced_model_before_making_a_run(tmp_path):
    from tests.runs import dgm

    config = tmp_path / "dgm.toml"
    config.write_text('[model]\nname = "openai/no-such-model-anywhere"\napi_base = "http://127.0.0.1:9/v1"\n')
    result = dgm("run", "--config", str(config), "--run-dir", str(tmp_path / "run"), timeout=300)
    assert result.returncode != 0
    assert "set model.input_price_per_mtok and model.output_price_per_mtok" in result.stdout + result.stderr
    assert not (tmp_path / "run").exists()

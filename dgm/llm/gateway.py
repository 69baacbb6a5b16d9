"""The run's LLM gateway: the one way agents in containers reach a model.

An OpenAI-compatible endpoint on TCP (loopback, or an address Ray nodes reach) and on a unix
socket (bind-mounted into network-less containers). It forwards through litellm to the configured
upstream, holds the keys, knows each caller by a per-task token (revoked when the task ends),
retries what real providers throw (see retry.py) within the provider's shared limits, reserves
every call's worst case against the run's budget and the task's dollar cap, and logs every
attempt to `<run_dir>/llm_calls.jsonl`.

Answers carry `x-dgm-task-spent` and `x-dgm-task-budget` headers; errors are OpenAI-shaped with
the codes budget_exceeded, task_budget_exceeded (402), provider_unavailable (503),
context_length_exceeded, content_policy (400) and upstream_error (any other 4xx).
"""

from __future__ import annotations

import http.server
import json
import secrets
import threading
import time
from pathlib import Path

from dgm.http_json import send_json
from dgm.llm import provider, server
from dgm.llm.budget import CHARS_PER_TOKEN, BudgetExceeded, Ledger, TaskBudgetExceeded, TokenUsage, Usage, prices_for
from dgm.llm.caching import with_cache_control
from dgm.llm.call_log import CallLog
from dgm.llm.health import ProviderHealth
from dgm.llm.provider import UpstreamConfig, UpstreamError
from dgm.llm.retry import RetryPolicy, retryable
from dgm.llm.throttle import Throttle

ROLES = ("diagnose", "self_modify")  # task ids of the engine's own calls; every other caller is an agent


class Gateway:
    """Context manager: serves on entry, stops on exit."""

    def __init__(self, upstream: UpstreamConfig, run_dir: Path, budget: float | None = None,
                 spent: float = 0.0, socket_path: Path | None = None, listen: str = "127.0.0.1:0") -> None:
        self.upstream = upstream
        self.prices = prices_for(upstream.model, upstream.input_price_per_mtok, upstream.output_price_per_mtok)
        self.listen = listen  # host:port of the TCP endpoint; port 0 picks a free one
        self.socket_path = socket_path
        self.ledger = Ledger(budget, spent, run_dir)
        self.health = ProviderHealth(upstream.pause_after_failures)
        self.retry = RetryPolicy(upstream.retry_total_wait, upstream.retry_first_delay)
        self._throttle = Throttle(upstream.max_concurrent_calls, upstream.tokens_per_minute)
        self._log = CallLog(run_dir)
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, str]] = {}
        self._servers: list[server.TCPServer | server.UnixServer] = []
        self.url = ""
        self.address = ""

    @property
    def spent(self) -> float:
        return self.ledger.spent

    # --- serving -----------------------------------------------------------------------------

    def __enter__(self) -> Gateway:
        host, _, port = self.listen.rpartition(":")
        tcp = server.TCPServer((host, int(port)), _handler_for(self))
        self._servers.append(tcp)
        self.address = f"{host}:{tcp.server_address[1]}"
        self.url = f"http://{self.address}/v1"
        if self.socket_path is not None:
            self.socket_path.parent.mkdir(parents=True, exist_ok=True)
            self.socket_path.unlink(missing_ok=True)
            self._servers.append(server.UnixServer(str(self.socket_path), _handler_for(self)))
        for each in self._servers:
            threading.Thread(target=each.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for each in self._servers:
            each.shutdown()
            each.server_close()
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)

    # --- callers -----------------------------------------------------------------------------

    def issue_token(self, variant_id: str, task_id: str, task_budget: float | None = None) -> str:
        """A token for one task's container; `task_budget` caps the task's dollars."""
        token = "dgm-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (variant_id, task_id)
        self.ledger.set_task_budget((variant_id, task_id), task_budget)
        return token

    def revoke_token(self, token: str) -> None:
        """The task is over: its token is refused from now on."""
        with self._lock:
            self._tokens.pop(token, None)

    def caller(self, token: str) -> tuple[str, str] | None:
        with self._lock:
            return self._tokens.get(token)

    def usage(self, variant_id: str | None = None, task_id: str | None = None) -> Usage:
        return self.ledger.usage(variant_id, task_id)

    # --- the call ----------------------------------------------------------------------------

    def chat(self, body: dict, variant_id: str, task_id: str) -> dict:
        """One chat completion for (variant, task): limits, retries, budget, metering, log."""
        if body.get("stream"):
            raise UpstreamError("streaming is not supported by the dgm gateway", 400, "invalid_request_error")
        caller = (variant_id, task_id)
        down = self.health.down()
        if down:
            self.health.lost(caller)
            raise UpstreamError(f"the provider is unavailable: {down}", 503, "provider_unavailable")
        up = self.upstream
        params = {k: v for k, v in body.items() if k in provider.FORWARDED}
        # the role's max_tokens is the default and the most a caller gets: a child asking for a
        # billion tokens would otherwise reserve the whole budget and stop the run
        cap = up.max_tokens[task_id if task_id in ROLES else "agent"]
        asked = [key for key in ("max_tokens", "max_completion_tokens") if params.get(key)] or ["max_tokens"]
        for key in asked:
            params[key] = min(int(params.get(key) or cap), cap)
        max_tokens = max(params[key] for key in asked)
        if up.prompt_caching:
            params["messages"] = with_cache_control(params.get("messages") or [], up.model)
        worst = self.prices.worst_case(params, max_tokens)
        estimate = len(json.dumps(params.get("messages"))) // 4 + max_tokens  # tokens, for the per-minute limit
        waited, attempt = 0.0, 0
        while True:
            reservation = self.ledger.reserve(caller, worst)
            started = time.monotonic()
            try:
                with self._throttle.slot(estimate) as sent:
                    response = provider.call(up, params, max_tokens)
                    sent[1] = float((response.get("usage") or {}).get("total_tokens") or sent[1])
            except Exception as e:  # litellm maps every provider's errors onto its own classes
                # a timed-out generation may well be billed: it is charged at its worst case
                timed_out = type(e).__name__ == "Timeout"
                if timed_out:
                    self.ledger.settle(reservation, worst)
                else:
                    self.ledger.release(reservation)
                self._log.write(variant=variant_id, task=task_id, model=up.model, attempt=attempt,
                                status=getattr(e, "status_code", None) or 502, error=str(e)[:500],
                                cost=worst if timed_out else 0.0, latency=time.monotonic() - started)
                # the minutes a timed-out attempt took count as waiting: each is paid at its worst case
                waited += time.monotonic() - started if timed_out else 0.0
                delay = self.retry.delay(e, attempt, waited)
                if delay is None:
                    failure = provider.failure(e, up.model, retryable(e))
                    if failure.code == "provider_unavailable":
                        self.health.failed(caller, str(e))
                    raise failure from e
                time.sleep(delay)
                waited, attempt = waited + delay, attempt + 1
                continue
            self.health.succeeded()
            tokens = TokenUsage.of(response.get("usage") or {})
            # an answer without usage (some proxies and local servers) is priced from the sizes on
            # the high side, never as free: the budget would otherwise never stop the run
            cost = (self.prices.cost(tokens) if tokens.prompt else
                    self.prices.worst_case(params, len(json.dumps(response.get("choices"))) // CHARS_PER_TOKEN))
            self.ledger.settle(reservation, cost, tokens.prompt, tokens.completion)
            self._log.write(variant=variant_id, task=task_id, model=up.model, attempt=attempt, status=200,
                            prompt_tokens=tokens.prompt, completion_tokens=tokens.completion,
                            cache_read_tokens=tokens.cache_read, cache_write_tokens=tokens.cache_write,
                            reasoning_tokens=tokens.reasoning, cost=cost, cost_estimated=not tokens.prompt,
                            latency=time.monotonic() - started)
            return response

    def task_headers(self, caller: tuple[str, str]) -> dict[str, str]:
        """What the task has spent and may spend, for the agent (contract 1)."""
        headers = {"x-dgm-task-spent": f"{self.ledger.usage(*caller).cost:.6f}"}
        budget = self.ledger.task_budget(caller)
        if budget is not None:
            headers["x-dgm-task-budget"] = f"{budget:.6f}"
        return headers


def _handler_for(gateway: Gateway) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = server.READ_TIMEOUT

        def log_message(self, *args: object) -> None:
            pass

        def address_string(self) -> str:  # unix-socket clients have no address
            return "local"

        def _error(self, status: int, message: str, code: str) -> None:
            send_json(self, status, {"error": {"message": message, "type": code, "code": code}})

        def _caller(self) -> tuple[str, str] | None:
            auth = self.headers.get("Authorization", "")
            caller = gateway.caller(auth.removeprefix("Bearer ").strip())
            if caller is None:
                self._error(401, "unknown or revoked token: the gateway issues one per task", "invalid_api_key")
            return caller

        def do_GET(self) -> None:
            if self._caller() is None:
                return
            if self.path.rstrip("/").endswith("/models"):
                send_json(self, 200, {"object": "list", "data": [{"id": "gateway", "object": "model", "owned_by": "dgm"}]})
            else:
                self._error(404, f"no route {self.path}", "not_found")

        def do_POST(self) -> None:
            caller = self._caller()
            if caller is None:
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._error(404, f"no route {self.path}", "not_found")
                return
            try:
                body = json.loads(server.read_body(self) or b"{}")
                reply = gateway.chat(body, *caller)
                send_json(self, 200, reply, gateway.task_headers(caller))
            except server.BadRequest as e:
                self._error(e.status, str(e), "invalid_request_error")
            except json.JSONDecodeError as e:
                self._error(400, f"the request body is not JSON: {e}", "invalid_request_error")
            except BudgetExceeded as e:
                self._error(402, str(e), "budget_exceeded")
            except TaskBudgetExceeded as e:
                self._error(402, str(e), "task_budget_exceeded")
            except UpstreamError as e:
                self._error(e.status if 400 <= e.status < 600 else 502, str(e), e.code)

    return Handler

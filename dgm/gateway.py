"""The run's LLM gateway: the one way agents in containers reach a model.

An OpenAI-compatible endpoint on TCP (loopback, or an address Ray nodes reach) and on a unix
socket (bind-mounted into network-less containers). It forwards through litellm to the configured upstream, holds the
keys, knows each caller by a per-task token, retries rate limits and transient failures with
backoff, meters tokens and cost per variant and task, refuses calls past the run's budget with
HTTP 402, and logs every call to `<run_dir>/llm_calls.jsonl`.
"""

from __future__ import annotations

import http.server
import json
import os
import random
import secrets
import socketserver
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from dgm.errors import DgmError
from dgm.http_json import send_json
from sandbox.llm_bridge import UnixServer

RETRYABLE = ("RateLimitError", "APIConnectionError", "Timeout", "InternalServerError", "ServiceUnavailableError")
FORWARDED = {"messages", "tools", "tool_choice", "temperature", "top_p", "max_tokens", "max_completion_tokens",
             "stop", "seed", "response_format", "parallel_tool_calls", "n"}


class BudgetExceeded(DgmError):
    """The run's model budget is spent; no further call is made."""


class UpstreamError(DgmError):
    """The upstream model failed, after retries where the failure was transient."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UpstreamConfig:
    model: str  # litellm model string
    api_base: str | None = None
    api_key_env: str | None = None  # the host environment variable holding the key
    input_price_per_mtok: float | None = None
    output_price_per_mtok: float | None = None
    max_retries: int = 4
    retry_delay: float = 1.0  # first backoff in seconds; doubles per retry, with jitter
    timeout: float = 120.0


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


def _litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    import litellm

    return litellm


def spent_in_log(run_dir: Path) -> float:
    """What earlier gateways of a run spent, from its call log: a resumed run starts from there,
    including calls of work that was killed before its result was recorded."""
    log = run_dir / "llm_calls.jsonl"
    if not log.exists():
        return 0.0
    total = 0.0
    for line in log.read_text().splitlines():
        try:
            total += float(json.loads(line).get("cost") or 0.0)
        except (json.JSONDecodeError, AttributeError, ValueError):
            continue  # a line cut short by a kill
    return total


class Gateway:
    """Context manager: serves on entry, stops on exit."""

    def __init__(self, upstream: UpstreamConfig, run_dir: Path, budget: float | None = None,
                 spent: float = 0.0, socket_path: Path | None = None, listen: str = "127.0.0.1:0") -> None:
        self.upstream = upstream
        self.listen = listen  # host:port of the TCP endpoint; port 0 picks a free one
        self.budget = budget
        self.spent = spent
        self.socket_path = socket_path
        self._log_path = run_dir / "llm_calls.jsonl"
        run_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, str]] = {}
        self._usage: dict[tuple[str, str], Usage] = {}
        self._in_flight = 0
        self._servers: list[socketserver.BaseServer] = []
        self.url = ""
        self.address = ""
        if upstream.input_price_per_mtok is not None or upstream.output_price_per_mtok is not None:
            provider = upstream.model.split("/", 1)[0] if "/" in upstream.model else "openai"
            _litellm().register_model({upstream.model: {
                "input_cost_per_token": (upstream.input_price_per_mtok or 0.0) / 1e6,
                "output_cost_per_token": (upstream.output_price_per_mtok or 0.0) / 1e6,
                "litellm_provider": provider, "mode": "chat",
            }})

    # --- serving -----------------------------------------------------------------------------

    def __enter__(self) -> Gateway:
        host, _, port = self.listen.rpartition(":")
        tcp = _TCPServer((host, int(port)), _handler_for(self))
        self._servers.append(tcp)
        self.address = f"{host}:{tcp.server_address[1]}"
        self.url = f"http://{self.address}/v1"
        if self.socket_path is not None:
            self.socket_path.parent.mkdir(parents=True, exist_ok=True)
            self.socket_path.unlink(missing_ok=True)
            self._servers.append(UnixServer(str(self.socket_path), _handler_for(self)))
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        if self.socket_path is not None:
            self.socket_path.unlink(missing_ok=True)

    # --- accounting --------------------------------------------------------------------------

    def issue_token(self, variant_id: str, task_id: str) -> str:
        token = "dgm-" + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (variant_id, task_id)
        return token

    def caller(self, token: str) -> tuple[str, str] | None:
        with self._lock:
            return self._tokens.get(token)

    def usage(self, variant_id: str | None = None, task_id: str | None = None) -> Usage:
        total = Usage()
        with self._lock:
            for (variant, task), usage in self._usage.items():
                if variant_id in (None, variant) and task_id in (None, task):
                    total.calls += usage.calls
                    total.prompt_tokens += usage.prompt_tokens
                    total.completion_tokens += usage.completion_tokens
                    total.cost += usage.cost
        return total

    def _reserve(self) -> None:
        with self._lock:
            calls = sum(u.calls for u in self._usage.values())
            estimate = self.spent / calls if calls else 0.0  # the average call so far
            if self.budget is not None and self.spent + self._in_flight * estimate >= self.budget:
                raise BudgetExceeded(
                    f"the run's model budget of ${self.budget:.4f} is spent (${self.spent:.4f} used"
                    f"{f', {self._in_flight} call(s) in flight' if self._in_flight else ''}); no further model calls"
                )
            self._in_flight += 1

    def _record(self, variant: str, task: str, prompt: int, completion: int, cost: float) -> None:
        with self._lock:
            self._in_flight -= 1
            usage = self._usage.setdefault((variant, task), Usage())
            usage.calls += 1
            usage.prompt_tokens += prompt
            usage.completion_tokens += completion
            usage.cost += cost
            self.spent += cost

    def _log(self, **record: object) -> None:
        line = json.dumps({"time": time.time(), **record}) + "\n"
        with self._lock, self._log_path.open("a") as f:
            f.write(line)

    # --- the call ----------------------------------------------------------------------------

    def chat(self, body: dict, variant_id: str, task_id: str) -> dict:
        """One chat completion for (variant, task): budget check, retries, metering, log."""
        if body.get("stream"):
            raise UpstreamError("streaming is not supported by the dgm gateway", 400)
        self._reserve()
        started = time.monotonic()
        try:
            response = self._call_with_retries({k: v for k, v in body.items() if k in FORWARDED})
        except BaseException as e:
            with self._lock:
                self._in_flight -= 1
            status = e.status if isinstance(e, UpstreamError) else 502
            self._log(variant=variant_id, task=task_id, model=self.upstream.model, status=status,
                      latency=time.monotonic() - started, error=str(e)[:500])
            raise
        usage = response.get("usage") or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        cost = self._cost(response, prompt, completion)
        self._record(variant_id, task_id, prompt, completion, cost)
        self._log(variant=variant_id, task=task_id, model=self.upstream.model, status=200,
                  prompt_tokens=prompt, completion_tokens=completion, cost=cost,
                  latency=time.monotonic() - started)
        return response

    def _call_with_retries(self, params: dict) -> dict:
        litellm = _litellm()
        up = self.upstream
        # A local OpenAI-compatible server needs no key, but litellm's client insists on one.
        key = os.environ.get(up.api_key_env) if up.api_key_env else ("unused" if up.api_base else None)
        if up.api_key_env and not key:
            raise UpstreamError(f"the environment variable {up.api_key_env} holding the model key is not set", 500)
        for attempt in range(up.max_retries + 1):
            try:
                response = litellm.completion(model=up.model, api_base=up.api_base, api_key=key,
                                              timeout=up.timeout, num_retries=0, max_retries=0, **params)
                data = json.loads(response.model_dump_json())
                data["_cost"] = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
                return data
            except Exception as e:  # litellm maps every provider's errors onto its own classes
                retryable = type(e).__name__ in RETRYABLE
                if not retryable or attempt == up.max_retries:
                    raise UpstreamError(f"upstream {up.model} failed: {e}", getattr(e, "status_code", 502) or 502) from e
                time.sleep(up.retry_delay * 2**attempt * (1 + random.random() / 2))
        raise AssertionError("unreachable")

    def _cost(self, response: dict, prompt: int, completion: int) -> float:
        reported = response.pop("_cost", None)
        if reported is not None:
            return float(reported)
        up = self.upstream
        return (prompt * (up.input_price_per_mtok or 0.0) + completion * (up.output_price_per_mtok or 0.0)) / 1e6


class _TCPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _handler_for(gateway: Gateway) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def address_string(self) -> str:  # unix-socket clients have no address
            return "local"


        def _error(self, status: int, message: str, kind: str) -> None:
            send_json(self, status, {"error": {"message": message, "type": kind, "code": kind}})

        def _caller(self) -> tuple[str, str] | None:
            auth = self.headers.get("Authorization", "")
            caller = gateway.caller(auth.removeprefix("Bearer ").strip())
            if caller is None:
                self._error(401, "unknown token: the gateway issues one per task", "invalid_api_key")
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
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                send_json(self, 200, gateway.chat(body, *caller))
            except json.JSONDecodeError as e:
                self._error(400, f"the request body is not JSON: {e}", "invalid_request_error")
            except BudgetExceeded as e:
                self._error(402, str(e), "budget_exceeded")
            except UpstreamError as e:
                self._error(e.status if 400 <= e.status < 600 else 502, str(e), "upstream_error")

    return Handler

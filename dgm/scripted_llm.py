"""A scripted OpenAI-compatible chat server on loopback, so tests drive the real litellm and HTTP
path without any provider. Replies come from a list, in order, or from a function of the request.
It speaks OpenAI's chat completions and, for `anthropic/<model>` with this server as api_base,
Anthropic's Messages API with its prompt cache (dgm/scripted_anthropic.py).

Replies can also be what real providers do on a bad night (see the helpers at the end of the
reply section): a 429 with Retry-After, a 529 overload, 5xx, a connection reset mid-answer, a slow
answer, a 400 context-window error or content refusal in OpenAI's error shape (which litellm maps
to ContextWindowExceededError and ContentPolicyViolationError), an answer cut at the output limit
(`finish_reason="length"` with a tool call's arguments cut short), and usage with cached, cache
write and reasoning tokens.

    python -m dgm.scripted_llm SCRIPT.json --port 8011
"""

from __future__ import annotations

import argparse
import dataclasses
import http.server
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dgm import scripted_anthropic
from dgm.http_json import send_json


@dataclass
class ScriptedReply:
    content: str | None = None
    # each {"name": str, "arguments": dict}; a str of arguments is sent as is (e.g. JSON cut short)
    tool_calls: list[dict] | None = None
    # {"prompt_tokens": int, "completion_tokens": int}, plus any OpenAI usage details, e.g.
    # {"prompt_tokens_details": {"cached_tokens": n}, "completion_tokens_details": {"reasoning_tokens": n}}
    usage: dict | None = None
    status: int = 200  # an error status (429, 503, 402, ...) answers with an error body instead
    error: str = "scripted error"
    error_body: dict | None = None  # the whole error body, when the default shape will not do
    headers: dict[str, str] | None = None  # extra response headers, e.g. {"Retry-After": "2"}
    delay: float = 0.0  # seconds before answering: a slow provider
    reset: bool = False  # send part of the answer, then close the connection
    finish_reason: str | None = None  # default: "tool_calls" with tool calls, else "stop"


def rate_limited(retry_after: float | None = None) -> ScriptedReply:
    """A 429, with the Retry-After header when given (seconds)."""
    return ScriptedReply(status=429, error="Rate limit reached for requests", error_body={"error": {
        "message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"}},
        headers=None if retry_after is None else {"Retry-After": f"{retry_after:g}"})


def overloaded() -> ScriptedReply:
    """Anthropic's 529."""
    return ScriptedReply(status=529, error="Overloaded",
                         error_body={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


def server_error(status: int = 500) -> ScriptedReply:
    return ScriptedReply(status=status, error=f"upstream answered {status}")


def connection_reset() -> ScriptedReply:
    return ScriptedReply(reset=True)


def slow(reply: ScriptedReply, seconds: float) -> ScriptedReply:
    return dataclasses.replace(reply, delay=seconds)


def context_window_exceeded(window: int = 8192, asked: int = 9000) -> ScriptedReply:
    message = (f"This model's maximum context length is {window} tokens. However, your messages resulted in "
               f"{asked} tokens. Please reduce the length of the messages.")
    return ScriptedReply(status=400, error=message, error_body={"error": {
        "message": message, "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}})


def refused() -> ScriptedReply:
    """A content refusal, as OpenAI words it (litellm: ContentPolicyViolationError)."""
    message = "Invalid prompt: your prompt was flagged as potentially violating our usage policy."
    return ScriptedReply(status=400, error=message, error_body={"error": {
        "message": message, "type": "invalid_request_error", "param": None, "code": "invalid_prompt"}})


def cut_tool_call(name: str, arguments: str, completion_tokens: int = 4096) -> ScriptedReply:
    """An answer stopped at the output limit in the middle of a tool call's arguments."""
    return ScriptedReply(tool_calls=[{"name": name, "arguments": arguments}], finish_reason="length",
                         usage={"prompt_tokens": 1000, "completion_tokens": completion_tokens})


Responder = Callable[[dict], ScriptedReply]


def load_script(path: Path) -> list[ScriptedReply]:
    """A JSON list of replies: objects with the ScriptedReply fields."""
    return [ScriptedReply(**reply) for reply in json.loads(path.read_text())]


def _chars(messages: list[dict]) -> int:
    return sum(len(m.get("content") or "") if isinstance(m.get("content"), str | None)
               else len(json.dumps(m["content"])) for m in messages)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        pass


    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            send_json(self, 200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "dgm"}]})
        else:
            send_json(self, 404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        anthropic = self.path.rstrip("/").endswith("/v1/messages")
        if not anthropic and not self.path.rstrip("/").endswith("/chat/completions"):
            send_json(self, 404, {"error": {"message": f"no route {self.path}"}})
            return
        self.server.record(body, self.headers.get("Authorization", "") or self.headers.get("x-api-key", ""))
        reply = self.server.next_reply(body)
        if reply is None:
            send_json(self, 500, {"error": {"message": "the script is exhausted: no reply left", "type": "script_exhausted"}})
            return
        time.sleep(reply.delay)
        if reply.reset:
            # the status line and part of the headers, then the connection drops
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/js")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if reply.status != 200:
            send_json(self, reply.status, reply.error_body or {
                "error": {"message": reply.error, "type": "scripted_error", "code": reply.status}}, reply.headers)
            return
        answer = (scripted_anthropic.message(body, reply.content, reply.tool_calls, reply.usage, reply.finish_reason,
                                             self.server.prompt_cache, self.server.ids)
                  if anthropic else self.server.completion(body, reply))
        send_json(self, 200, answer, reply.headers)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], responder: Responder) -> None:
        super().__init__(address, _Handler)
        self.responder = responder
        self.requests: list[dict] = []
        self.authorizations: list[str] = []
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.prompt_cache = scripted_anthropic.PromptCache()

    def record(self, body: dict, authorization: str) -> None:
        with self.lock:
            self.requests.append(body)
            self.authorizations.append(authorization)

    def next_reply(self, body: dict) -> ScriptedReply | None:
        with self.lock:
            return self.responder(body)

    def completion(self, body: dict, reply: ScriptedReply) -> dict:
        message: dict = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = [
                {"id": f"call_{next(self.ids)}", "type": "function",
                 "function": {"name": call["name"], "arguments": _arguments(call.get("arguments", {}))}}
                for call in reply.tool_calls
            ]
        completion_chars = len(reply.content or "") + len(json.dumps(reply.tool_calls or []))
        usage = reply.usage or {"prompt_tokens": _chars(body.get("messages", [])) // 4,
                                "completion_tokens": completion_chars // 4}
        usage = {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}
        finish = reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")
        return {
            "id": f"chatcmpl-{next(self.ids)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": finish}],
            "usage": usage,
        }


def _arguments(arguments: dict | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _from_list(replies: Sequence[ScriptedReply]) -> Responder:
    queue = iter(list(replies))
    return lambda body: next(queue, None)


class ScriptedLLMServer:
    """Context manager: serves on entry (127.0.0.1, an ephemeral port by default), stops on exit."""

    def __init__(self, replies: Sequence[ScriptedReply] | Responder, host: str = "127.0.0.1", port: int = 0) -> None:
        responder = replies if callable(replies) else _from_list(replies)
        self._server = _Server((host, port), responder)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self.url = f"http://{host}:{self._server.server_address[1]}/v1"

    @property
    def requests(self) -> list[dict]:
        return self._server.requests

    @property
    def authorizations(self) -> list[str]:
        return self._server.authorizations

    def __enter__(self) -> ScriptedLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", type=Path, help="a JSON list of replies")
    parser.add_argument("--port", type=int, default=8011)
    args = parser.parse_args()
    with ScriptedLLMServer(load_script(args.script), port=args.port) as server:
        print(f"serving {args.script} at {server.url}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()

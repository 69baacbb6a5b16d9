"""An OpenAI-compatible server on loopback that answers the way the run's gateway does (contract 1):
every answer carries `x-dgm-task-spent` (and `x-dgm-task-budget` when the task has a cap), errors
carry the gateway's codes, and a reply can be cut at the output limit mid tool call. Prompt tokens
are counted with litellm's tokenizer, so a test can measure what the model would have been sent.
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dgm.http_json import send_json


@dataclass
class Answer:
    content: str | None = None
    tool_calls: list[dict] = field(default_factory=list)  # {"name", "arguments": dict, or str sent as is}
    finish_reason: str | None = None  # default: tool_calls when there are some, else stop
    status: int = 200
    code: str = ""  # the gateway's error code when status is not 200


def call(name: str, **arguments) -> Answer:
    return Answer(tool_calls=[{"name": name, "arguments": arguments}])


def count_tokens(body: dict) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    import litellm

    return litellm.token_counter(model="gpt-4o", messages=body["messages"], tools=body.get("tools"))


class GatewayLikeServer:
    """Answers from `answers` (a list, or a function of the request body), in order. Each call
    costs `price_per_mtok` dollars per million prompt tokens, reported in the headers."""

    def __init__(self, answers: list[Answer] | Callable[[dict], Answer], budget: float | None = None,
                 price_per_mtok: float = 3.0) -> None:
        queue = iter(answers) if isinstance(answers, list) else None
        self.next_answer = (lambda body: next(queue)) if queue else answers
        self.budget, self.price = budget, price_per_mtok
        self.spent = 0.0
        self.requests: list[dict] = []
        self.prompt_tokens: list[int] = []
        self.spent_after: list[float] = []  # the task's spend after each answered call
        ids = itertools.count(1)
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                answer = owner.next_answer(body)
                if answer.status != 200:
                    send_json(self, answer.status, {"error": {"message": f"scripted {answer.code}", "type": "dgm",
                                                              "code": answer.code}})
                    return
                tokens = count_tokens(body)
                owner.prompt_tokens.append(tokens)
                owner.spent += tokens * owner.price / 1e6
                owner.spent_after.append(owner.spent)
                calls = [{"id": f"call_{next(ids)}", "type": "function",
                          "function": {"name": c["name"], "arguments": c["arguments"] if isinstance(c["arguments"], str)
                                       else json.dumps(c["arguments"])}} for c in answer.tool_calls]
                message = {"role": "assistant", "content": answer.content, **({"tool_calls": calls} if calls else {})}
                data = json.dumps({
                    "id": f"chatcmpl-{next(ids)}", "object": "chat.completion", "created": int(time.time()),
                    "model": body["model"], "usage": {"prompt_tokens": tokens, "completion_tokens": 10,
                                                      "total_tokens": tokens + 10},
                    "choices": [{"index": 0, "message": message,
                                 "finish_reason": answer.finish_reason or ("tool_calls" if calls else "stop")}],
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-dgm-task-spent", f"{owner.spent:.6f}")
                if owner.budget is not None:
                    self.send_header("x-dgm-task-budget", f"{owner.budget:g}")
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> GatewayLikeServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

"""The gateway against a provider as it really behaves, through real litellm on both sides.

(a) Dollars per task with and without prompt caching: a scripted 60-call agent trajectory of
    realistic sizes (a 3k-token system prompt, the issue, then tool outputs from a few lines to a
    whole file) through the gateway to `anthropic/claude-sonnet-4-5` at litellm's list prices,
    served by the scripted server's Anthropic dialect with its prompt cache.
(b) 20 agents at once against a provider answering 30 % of calls with 429 (Retry-After), under a
    run budget that runs out: provider errors that reach an agent (each would have been an
    evaluation recorded as a failure) must be 0, and the spend must not pass the budget.

    python -m benchmarks.perf.provider [--calls 60] [--agents 20] [--steps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig, litellm
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply, rate_limited

MODEL = "anthropic/claude-sonnet-4-5"
TOOLS = [{"type": "function", "function": {
    "name": "bash", "description": "Run a shell command in the repository.",
    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}]
WORDS = "def return self value import class raise assert test path file line error for in if not None".split()


def _text(rng: random.Random, chars: int) -> str:
    out, size = [], 0
    while size < chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)


def _output_size(rng: random.Random) -> int:
    """Characters of one tool output: mostly a few lines (ls, grep, a test run), sometimes a file."""
    kind = rng.random()
    if kind < 0.6:
        return rng.randint(200, 1_500)
    if kind < 0.9:
        return rng.randint(2_000, 8_000)
    return rng.randint(10_000, 20_000)


def _agent(gateway: Gateway, token: str, calls: int, seed: int) -> tuple[int, str]:
    """An agent's trajectory of `calls` model calls, made as the agent makes them (litellm,
    `openai/gateway`, no retries of its own); returns (calls answered, the error that ended it)."""
    rng = random.Random(seed)
    messages = [{"role": "system", "content": _text(rng, 12_000)},
                {"role": "user", "content": "<issue>\n" + _text(rng, 4_000) + "\n</issue>"}]
    for step in range(calls):
        try:
            reply = litellm().completion(model="openai/gateway", api_base=gateway.url, api_key=token, tools=TOOLS,
                                         messages=messages, num_retries=0, max_retries=0, max_tokens=1024)
        except Exception as e:
            return step, f"{getattr(e, 'status_code', '?')} {type(e).__name__}"
        call = reply.choices[0].message.tool_calls[0]
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": "bash", "arguments": call.function.arguments}}]})
        messages.append({"role": "tool", "tool_call_id": call.id, "content": _text(rng, _output_size(rng))})
    return calls, ""


COMMANDS = ["grep -rn 'def parse' src/", "sed -n 1,120p src/core.py", "python -m pytest tests/test_core.py -x -q",
            "git diff", "ls -R src | head -50"]


def _bash_reply(body: dict) -> ScriptedReply:
    """The model's next step: a shell command, the same for the same point of a trajectory."""
    command = COMMANDS[len(body.get("messages") or []) % len(COMMANDS)]
    return ScriptedReply(content="Let me look.", tool_calls=[{"name": "bash", "arguments": {"command": command}}])


def caching(calls: int) -> list[tuple[str, float, int, int, int]]:
    """(setting, dollars, prompt tokens, cache reads, cache writes) for one trajectory each way."""
    rows = []
    for cached in (False, True):
        with tempfile.TemporaryDirectory() as tmp, \
                ScriptedLLMServer(_bash_reply) as provider, \
                Gateway(UpstreamConfig(MODEL, provider.url.removesuffix("/v1"), prompt_caching=cached),
                        Path(tmp)) as gateway:
            done, error = _agent(gateway, gateway.issue_token("bench", "task"), calls, seed=1)
            assert done == calls, error
            log = [json.loads(line) for line in Path(tmp, "llm_calls.jsonl").read_text().splitlines()]
        rows.append(("caching on" if cached else "caching off", gateway.spent,
                     sum(c["prompt_tokens"] for c in log), sum(c["cache_read_tokens"] for c in log),
                     sum(c["cache_write_tokens"] for c in log)))
    return rows


def rate_limited_fleet(agents: int, steps: int, share: float, budget_share: float) -> dict:
    """`agents` trajectories at once against a provider that answers `share` of calls with 429."""
    rng, lock, served = random.Random(7), threading.Lock(), {"429": 0, "ok": 0}

    def provider_side(body: dict) -> ScriptedReply:
        with lock:
            limited = rng.random() < share
            served["429" if limited else "ok"] += 1
        return rate_limited(retry_after=0.2) if limited else _bash_reply(body)

    # the budget: a share of what the whole fleet would spend (priced at $3 / $15 per million)
    prices = {"input_price_per_mtok": 3.0, "output_price_per_mtok": 15.0}
    full = agents * steps * 9_000 * 3.0 / 1e6  # a rough average prompt of 9k tokens per call
    budget = full * budget_share
    with tempfile.TemporaryDirectory() as tmp, ScriptedLLMServer(provider_side) as provider, \
            Gateway(UpstreamConfig("openai/bench-model", provider.url, retry_first_delay=0.1, retry_total_wait=120,
                                   max_concurrent_calls=8, **prices), Path(tmp), budget=budget) as gateway:
        started = time.monotonic()
        with ThreadPoolExecutor(agents) as pool:
            ends = list(pool.map(lambda i: _agent(gateway, gateway.issue_token(f"v{i}", "task"), steps, seed=i),
                                 range(agents)))
        took = time.monotonic() - started
        logged = sum(json.loads(line).get("cost") or 0.0
                     for line in Path(tmp, "llm_calls.jsonl").read_text().splitlines())
    errors = [error for _, error in ends if error]
    return {"agents": agents, "served ok": served["ok"], "served 429": served["429"],
            "provider errors reaching agents": sum("402" not in e for e in errors),
            "agents stopped by the run budget (402)": sum("402" in e for e in errors),
            "budget $": round(budget, 4), "spent $": round(gateway.spent, 4), "logged $": round(logged, 4),
            "overshoot $": round(max(0.0, gateway.spent - budget), 6), "seconds": round(took, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60, help="model calls in the caching trajectory")
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--steps", type=int, default=10, help="model calls per agent in the 429 fleet")
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    litellm().suppress_debug_info = True  # no "Give Feedback" banner for each agent refused by the budget
    console = Console()

    table = Table(title=f"(a) one {args.calls}-call trajectory at {MODEL} list prices")
    for column in ("setting", "$ per task", "prompt tokens", "cache reads", "cache writes"):
        table.add_column(column, justify="right")
    rows = caching(args.calls)
    for setting, dollars, prompt, read, write in rows:
        table.add_row(setting, f"{dollars:.3f}", f"{prompt:,}", f"{read:,}", f"{write:,}")
    console.print(table)
    console.print(f"caching saves {100 * (1 - rows[1][1] / rows[0][1]):.0f} % of the task's dollars")

    fleet = rate_limited_fleet(args.agents, args.steps, share=0.3, budget_share=0.6)
    table = Table(title=f"(b) {args.agents} agents at once, 30 % of answers 429 (Retry-After 0.2 s)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in fleet.items():
        table.add_row(key, str(value))
    console.print(table)
    assert fleet["provider errors reaching agents"] == 0 and fleet["overshoot $"] == 0


if __name__ == "__main__":
    main()

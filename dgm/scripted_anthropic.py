"""The scripted server's Anthropic dialect (`POST /v1/messages`), with Anthropic's prompt cache:
a prefix is cached only up to a `cache_control` breakpoint, read back by a later request that
repeats it, and reported in usage as cache reads and writes. So a test (or benchmark) reaching the
scripted server as `anthropic/<model>` through litellm sees what caching really saves."""

from __future__ import annotations

import hashlib
import json
import threading

CHARS_PER_TOKEN = 4
LOOKBACK = 20  # blocks before a breakpoint where Anthropic looks for a cached prefix


def _blocks(body: dict) -> list[dict]:
    """The request's content blocks in cache order: tools, system, then each message's."""
    system = body.get("system") or []
    blocks = [{"tool": tool} for tool in body.get("tools") or []]
    blocks += [{"type": "text", "text": system}] if isinstance(system, str) else list(system)
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks += [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
    return blocks


def _unmarked(value: object) -> object:
    """The block as cached: its breakpoints (also those nested in a tool result) are no part of it."""
    if isinstance(value, dict):
        return {k: _unmarked(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_unmarked(v) for v in value]
    return value


def _tokens(block: dict) -> int:
    return max(1, len(json.dumps(_unmarked(block))) // CHARS_PER_TOKEN)


def _has_breakpoint(block: dict) -> bool:
    nested = block.get("content") if isinstance(block.get("content"), list) else []
    return "cache_control" in block or any("cache_control" in b for b in nested if isinstance(b, dict))


class PromptCache:
    """Hashes of the prefixes written so far; one per scripted server."""

    def __init__(self) -> None:
        self._written: set[str] = set()
        self._lock = threading.Lock()

    def usage(self, body: dict, output_tokens: int) -> dict:
        blocks = _blocks(body)
        digest, total, ends = hashlib.sha256(), 0, []  # (tokens so far, prefix hash) after each block
        for block in blocks:
            digest.update(json.dumps(_unmarked(block)).encode())
            total += _tokens(block)
            ends.append((total, digest.copy().hexdigest()))
        breakpoints = [i for i, block in enumerate(blocks) if _has_breakpoint(block)]
        # a read may end at any block up to LOOKBACK blocks before a breakpoint, as Anthropic looks back
        candidates = {j for i in breakpoints for j in range(max(0, i - LOOKBACK), i + 1)}
        with self._lock:
            read = max((ends[j][0] for j in candidates if ends[j][1] in self._written), default=0)
            write = max((ends[i][0] for i in breakpoints), default=0) - read
            self._written.update(ends[i][1] for i in breakpoints)
        write = max(write, 0)
        return {"input_tokens": total - read - write, "output_tokens": output_tokens,
                "cache_creation_input_tokens": write, "cache_read_input_tokens": read}


def message(body: dict, content: str | None, tool_calls: list[dict] | None, usage: dict | None,
            finish_reason: str | None, cache: PromptCache, ids) -> dict:
    """An Anthropic Messages answer; usage scripted or else counted, with the cache's reads and writes."""
    blocks: list[dict] = [{"type": "text", "text": content}] if content else []
    for call in tool_calls or []:
        blocks.append({"type": "tool_use", "id": f"toolu_{next(ids)}", "name": call["name"],
                       "input": _input(call.get("arguments", {}))})
    output = max(1, len(json.dumps(blocks)) // CHARS_PER_TOKEN)
    stop = {"length": "max_tokens", "stop": "end_turn", "tool_calls": "tool_use"}.get(
        finish_reason or ("tool_calls" if tool_calls else "stop"), "end_turn")
    return {"id": f"msg_{next(ids)}", "type": "message", "role": "assistant", "model": body.get("model", "scripted"),
            "content": blocks, "stop_reason": stop, "stop_sequence": None,
            "usage": usage or cache.usage(body, output)}


def _input(arguments: dict | str) -> dict:
    """A tool_use block's input is an object: arguments cut short at the output limit (which the
    OpenAI dialect sends as the cut string) come as the empty object."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return {}

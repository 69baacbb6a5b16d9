"""Prompt caching where the provider caches only when asked.

Anthropic (and Claude on Bedrock or Vertex) reads a prompt prefix from its cache only up to a
`cache_control` breakpoint: one on the system prompt and one on the last message make each step of
an agent pay the cache-read price for the whole history before it. OpenAI, Gemini and DeepSeek
cache prefixes by themselves and report the hits in usage, so their prompts go as they are.
"""

from __future__ import annotations

EPHEMERAL = {"type": "ephemeral"}


def asks_for_cache_control(model: str) -> bool:
    return model.startswith("anthropic/") or "claude" in model.lower()


def with_cache_control(messages: list[dict], model: str) -> list[dict]:
    """`messages` with breakpoints on the system prompt and the last message (copies; the
    caller's list is untouched)."""
    if not asks_for_cache_control(model) or not messages:
        return messages
    # A tool result goes to Anthropic as a string, or as blocks once it carries a breakpoint: as
    # blocks always, so the step that marked it and the steps after send the same prefix.
    marked = [{**m, "content": [{"type": "text", "text": m["content"]}]}
              if m.get("role") == "tool" and isinstance(m.get("content"), str) and m["content"] else m
              for m in messages]
    targets = {len(marked) - 1} | ({0} if marked[0].get("role") == "system" else set())
    for i in targets:
        marked[i] = _marked(marked[i])
    return marked


def _marked(message: dict) -> dict:
    content = message.get("content")
    if isinstance(content, str) and content:
        return {**message, "content": [{"type": "text", "text": content, "cache_control": EPHEMERAL}]}
    if isinstance(content, list) and content and isinstance(content[-1], dict):
        return {**message, "content": [*content[:-1], {**content[-1], "cache_control": EPHEMERAL}]}
    return message  # an assistant turn of tool calls only: nothing to mark

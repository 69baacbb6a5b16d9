"""Keeping the conversation under the model's context window by eliding old tool outputs.

The system prompt, the task and the first turns stay whole (they say what the work is), and so do
the last turns (what the model is doing now). When the prompt passes `HIGH` of the window, the
oldest outputs in between are replaced by a note saying what was there, until it is under `LOW`:
elision comes in rare batches and rewrites only old messages, so a provider's prompt cache keeps
the long prefix between batches. The trajectory keeps every output whole."""

from __future__ import annotations

import json

DEFAULT_WINDOW = 128_000  # tokens, when neither the config nor litellm knows the model's window
HIGH, LOW = 0.7, 0.5  # fractions of the window; the rest is for the answer and the estimate's error
MIN_ELIDED = 300  # characters: shorter outputs are not worth a note
NOTE = "[output elided to keep the conversation within the model's context window: "


def context_window(configured: int, info: dict | None) -> int:
    """The window to keep under: the configured one, else litellm's record less the room the answer
    may take (providers count it against the window; at most a quarter), else the default."""
    if configured:
        return configured
    info = info or {}
    known = info.get("max_input_tokens") or info.get("max_tokens")
    if not known:
        return DEFAULT_WINDOW
    return int(known - min(info.get("max_output_tokens") or 0, known // 4))


def _chars(message: dict) -> int:
    calls = message.get("tool_calls") or []
    return len(message.get("content") or "") + sum(len(json.dumps(c)) for c in calls)


class Context:
    def __init__(self, window: int, keep_first: int = 2, keep_last: int = 8) -> None:
        self.window = window
        self.keep_first = keep_first
        self.keep_last = keep_last
        self.tokens_per_char = 1 / 3.5  # until the first reply reports its prompt tokens

    def calibrate(self, messages: list[dict], prompt_tokens: int) -> None:
        """Learn the model's tokens per character from what the last call really cost."""
        chars = sum(map(_chars, messages))
        if prompt_tokens > 0 and chars > 0:
            self.tokens_per_char = prompt_tokens / chars

    def estimate(self, messages: list[dict]) -> int:
        return int(sum(map(_chars, messages)) * self.tokens_per_char)

    def fit(self, messages: list[dict]) -> int:
        """Elide old outputs in place when the prompt is near the window; how many were elided."""
        if self.estimate(messages) <= HIGH * self.window:
            return 0
        turns = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
        calls = {c["id"]: c["function"] for m in messages for c in m.get("tool_calls") or []}
        tokens, elided = self.estimate(messages), 0
        for keep_first, keep_last in self._protections():
            if len(turns) <= keep_first + keep_last:
                continue
            for i in range(turns[keep_first], turns[-keep_last]):
                if tokens <= LOW * self.window:
                    return elided
                message = messages[i]
                if message["role"] != "assistant" and not message["content"].startswith(NOTE) \
                        and _chars(message) >= MIN_ELIDED:
                    messages[i] = {**message, "content": _note(message, calls.get(message.get("tool_call_id")))}
                    tokens -= int((_chars(message) - _chars(messages[i])) * self.tokens_per_char)
                    elided += 1
        return elided

    def _protections(self):
        """(first, last) turns kept whole, loosened step by step when eliding the rest is not
        enough: fewer recent turns, then fewer first ones; the latest turn always stays whole."""
        for keep_last in range(self.keep_last, 0, -1):
            yield self.keep_first, keep_last
        for keep_first in range(self.keep_first - 1, -1, -1):
            yield keep_first, 1


def _note(message: dict, call: dict | None) -> str:
    what = f"`{call['name']} {call['arguments'][:200]}`" if call else "your command"
    return f"{NOTE}{len(message['content'])} characters from {what}. Run it again if you need it.]"

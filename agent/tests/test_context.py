"""Eliding old tool outputs keeps the conversation under the window and says what was cut."""

import json

from agent.context import HIGH, LOW, NOTE, Context, context_window


def _conversation(turns: int, output_chars: int) -> list[dict]:
    messages = [{"role": "system", "content": "s" * 400}, {"role": "user", "content": "the issue " * 40}]
    for i in range(turns):
        arguments = json.dumps({"path": f"f{i}.py"})
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "view", "arguments": arguments}}]})
        messages.append({"role": "tool", "tool_call_id": f"c{i}", "content": "x" * output_chars})
    return messages


def test_old_outputs_are_elided_with_a_note_and_the_ends_stay_whole():
    context = Context(window=10_000, keep_first=2, keep_last=3)
    context.tokens_per_char = 0.25
    messages = _conversation(turns=30, output_chars=1_500)
    elided = context.fit(messages)
    assert elided > 0 and context.estimate(messages) <= LOW * context.window
    outputs = [m["content"] for m in messages if m["role"] == "tool"]
    assert all(o == "x" * 1_500 for o in outputs[:2] + outputs[-3:])
    assert outputs[2].startswith(NOTE) and "1500 characters from `view {\"path\": \"f2.py\"}`" in outputs[2]


def test_nothing_is_elided_below_the_high_mark():
    context = Context(window=100_000)
    messages = _conversation(turns=5, output_chars=1_000)
    before = json.dumps(messages)
    assert context.estimate(messages) < HIGH * context.window
    assert context.fit(messages) == 0 and json.dumps(messages) == before


def test_the_window_comes_from_the_config_then_litellm_less_the_answer_then_the_default():
    assert context_window(32_000, {"max_input_tokens": 200_000}) == 32_000
    assert context_window(0, {"max_input_tokens": 200_000}) == 200_000
    assert context_window(0, {"max_input_tokens": 200_000, "max_output_tokens": 64_000}) == 150_000
    assert context_window(0, None) == 128_000

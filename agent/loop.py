"""The agent's loop: ask the model, run what it asks for, until it submits or a limit ends it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from agent import llm
from agent.actions import SCHEMAS, SUBMIT, Actions
from agent.trajectory import Trajectory

PROMPTS = Path(__file__).with_name("prompts")
FENCED = re.compile(r"```(?:bash|sh)?\n(.*?)```", re.S)


@dataclass(frozen=True)
class Limits:
    max_steps: int = 30
    max_tokens: int = 400_000
    max_cost: float = 5.0


def _prompt(name: str, **values: str) -> str:
    return Template((PROMPTS / name).read_text()).safe_substitute(values)


def solve(repo: Path, issue: str, limits: Limits, trajectory: Trajectory, action_format: str = "tools") -> str:
    """Work on `issue` in `repo`; return why the loop ended."""
    actions = Actions(repo)
    system = _prompt("system.md") + (_prompt("text_actions.md") if action_format == "text" else "")
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": _prompt("instance.md", repo=str(repo), issue=issue)}]
    for message in messages:
        trajectory.write("message", **message)
    tokens, cost = 0, 0.0
    for step in range(1, limits.max_steps + 1):
        reply = llm.complete(messages, SCHEMAS if action_format == "tools" else None)
        tokens, cost = tokens + reply.tokens, cost + reply.cost
        trajectory.write("message", role="assistant", content=reply.content, tool_calls=reply.tool_calls,
                         step=step, tokens=tokens, cost=cost)
        if reply.tool_calls:
            messages.append({"role": "assistant", "content": reply.content or None, "tool_calls": [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                for c in reply.tool_calls]})
            for call in reply.tool_calls:
                if call["name"] == SUBMIT:
                    return "submitted"
                output = actions.run(call["name"], call["arguments"])
                trajectory.write("tool", name=call["name"], arguments=call["arguments"], output=output)
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": output})
        else:
            messages.append({"role": "assistant", "content": reply.content})
            block = FENCED.search(reply.content or "")
            if block and block.group(1).strip() == SUBMIT:
                return "submitted"
            if block:
                output = actions.run("bash", {"command": block.group(1)})
                trajectory.write("tool", name="bash", arguments={"command": block.group(1)}, output=output)
                messages.append({"role": "user", "content": f"Output:\n{output}"})
            else:
                messages.append({"role": "user", "content": "Act with a tool call (or one ```bash block), or submit."})
        if tokens > limits.max_tokens:
            return "token_limit"
        if cost > limits.max_cost:
            return "cost_limit"
    return "step_limit"

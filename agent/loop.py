"""The agent's loop: ask the model, run what it asks for, until it submits or its budget ends it."""

from __future__ import annotations

import json
from pathlib import Path
from string import Template

from agent import llm
from agent.actions import BASH_SEMANTICS, SCHEMAS, SUBMIT, Actions, call_problem, fenced_commands
from agent.budget import Budget
from agent.context import Context
from agent.trajectory import Trajectory

PROMPTS = Path(__file__).with_name("prompts")
MAX_MALFORMED = 3  # replies in a row with nothing to run end the task
CUT = ("Your reply was cut at the output-token limit (finish_reason=length) before it was complete{what}, "
       "so nothing was run. Reply with less: split a large edit into several smaller edits, or write a big "
       "file in parts.")


def _prompt(name: str, **values: str) -> str:
    return Template((PROMPTS / name).read_text()).safe_substitute(values)


def solve(repo: Path, issue: str, budget: Budget, context: Context, trajectory: Trajectory,
          action_format: str = "tools") -> str:
    """Work on `issue` in `repo`; return why the loop ended."""
    actions = Actions(repo)
    tools = action_format == "tools"
    messages = [{"role": "system", "content": _prompt("system.md" if tools else "system_text.md", bash=BASH_SEMANTICS)},
                {"role": "user", "content": _prompt("instance.md", repo=str(repo), issue=issue)}]
    for message in messages:
        trajectory.write("message", **message)
    malformed = 0
    while not (stop := budget.exhausted()):
        if elided := context.fit(messages):
            trajectory.write("elided", count=elided, window=context.window)
        reply = llm.complete(messages, SCHEMAS if tools else None)
        context.calibrate(messages, reply.prompt_tokens)
        budget.record(reply.spent, reply.budget)
        trajectory.write("message", role="assistant", content=reply.content, cut=reply.cut, step=budget.step,
                         prompt_tokens=reply.prompt_tokens, spent=reply.spent, budget=reply.budget,
                         tool_calls=[{"id": c.id, "name": c.name, "arguments": c.arguments if c.arguments is not None
                                      else c.raw} for c in reply.tool_calls])
        turn, outcome = (_tool_turn if tools else _text_turn)(reply, actions, trajectory)
        if outcome == "submitted":
            return "submitted"
        malformed = malformed + 1 if outcome == "malformed" else 0
        if malformed >= MAX_MALFORMED:
            return "malformed_replies"
        turn[-1]["content"] += "\n\n" + budget.status()
        messages.extend(turn)
    return stop


def _tool_turn(reply: llm.Reply, actions: Actions, trajectory: Trajectory) -> tuple[list[dict], str]:
    """The assistant message and its observations; whether the reply acted, submitted or was malformed."""
    if not reply.tool_calls:
        notice = (CUT.format(what="") if reply.cut else
                  "Your reply called no tool. Act with a tool call, or call submit when the fix is done.")
        trajectory.write("message", role="user", content=notice)
        return [{"role": "assistant", "content": reply.content}, {"role": "user", "content": notice}], "malformed"
    turn = [{"role": "assistant", "content": reply.content or None, "tool_calls": [
        {"id": c.id, "type": "function",
         "function": {"name": c.name, "arguments": json.dumps(c.arguments if c.arguments is not None else {})}}
        for c in reply.tool_calls]}]
    ran = submitted = False
    # submit ends the task, so the other calls of its batch run first
    for call in sorted(reply.tool_calls, key=lambda c: c.name == SUBMIT):
        problem = CUT.format(what=f" (the call to {call.name})") if reply.cut else call_problem(
            call.name, call.arguments, call.raw)
        if problem:
            output = f"error: {problem}"
        elif call.name == SUBMIT:
            submitted = True
            continue
        else:
            output, ran = actions.run(call.name, call.arguments), True
        trajectory.write("tool", name=call.name, arguments=call.arguments if call.arguments is not None else call.raw,
                         output=output)
        turn.append({"role": "tool", "tool_call_id": call.id, "content": output})
    return turn, "submitted" if submitted else "acted" if ran else "malformed"


def _text_turn(reply: llm.Reply, actions: Actions, trajectory: Trajectory) -> tuple[list[dict], str]:
    commands = fenced_commands(reply.content)
    turn = [{"role": "assistant", "content": reply.content}]
    if reply.cut or len(commands) != 1:
        notice = CUT.format(what="") if reply.cut else (
            f"Your reply had {len(commands)} ```bash blocks; it needs exactly one (a block holding only "
            f"`{SUBMIT}` finishes). Nothing was run.")
        trajectory.write("message", role="user", content=notice)
        return turn + [{"role": "user", "content": notice}], "malformed"
    if commands[0].strip() == SUBMIT:
        return turn, "submitted"
    output = actions.run("bash", {"command": commands[0]})
    trajectory.write("tool", name="bash", arguments={"command": commands[0]}, output=output)
    return turn + [{"role": "user", "content": f"Output:\n{output}"}], "acted"

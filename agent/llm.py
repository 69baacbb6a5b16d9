"""The agent's one model call, through litellm. Inside a container the "provider" is the run's
gateway (OPENAI_BASE_URL) and the key is a per-task token, never a real key."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field


class BudgetExceeded(Exception):
    """The gateway refused the call: the run's budget is spent."""


@dataclass
class Reply:
    content: str
    tool_calls: list[dict] = field(default_factory=list)  # {"id", "name", "arguments": dict}
    tokens: int = 0
    cost: float = 0.0


def complete(messages: list[dict], tools: list[dict] | None) -> Reply:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    import litellm

    try:
        response = litellm.completion(
            model=os.environ["DGM_MODEL"], messages=messages, tools=tools or None,
            api_base=os.environ.get("OPENAI_BASE_URL"), api_key=os.environ.get("OPENAI_API_KEY"),
            num_retries=0, max_retries=0,
        )
    except Exception as e:
        if getattr(e, "status_code", None) == 402 or "budget_exceeded" in str(e):
            raise BudgetExceeded(str(e)) from e
        raise
    message = response.choices[0].message
    calls = []
    for call in message.tool_calls or []:
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError:
            arguments = {"_unparsed": call.function.arguments}
        calls.append({"id": call.id, "name": call.function.name, "arguments": arguments})
    usage = getattr(response, "usage", None)
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost") or 0.0
    return Reply(message.content or "", calls, getattr(usage, "total_tokens", 0) or 0, float(cost))

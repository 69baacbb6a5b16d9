"""The agent's one model call, through litellm. Inside a container the "provider" is the run's
gateway (OPENAI_BASE_URL) and the key is a per-task token, never a real key.

The gateway retries the provider; the agent never does. A refused call ends the task with one of
the exit reasons below, taken from the gateway's error code (OpenAI-style error body)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

# gateway error code -> the agent's exit reason
EXIT_FOR_CODE = {
    "budget_exceeded": "budget_exceeded",
    "task_budget_exceeded": "task_budget_exceeded",
    "provider_unavailable": "provider_error",
    "context_length_exceeded": "context_overflow",
}


class ModelStop(Exception):
    """The model call was refused in a way that ends the task; `reason` is the exit reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict | None  # None when the model's arguments are not a JSON object
    raw: str  # the arguments as the model wrote them


@dataclass
class Reply:
    content: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    cut: bool = False  # finish_reason == "length": the reply stopped at the output-token limit
    prompt_tokens: int = 0
    spent: float | None = None  # this task's dollars so far, as the gateway reports them
    budget: float | None = None  # this task's dollar cap, when it has one


def _import_litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    import litellm

    return litellm


def model_info_name() -> str:
    """The model litellm should describe: the provider's model behind the gateway when the engine
    names it (DGM_UPSTREAM_MODEL), else the model the agent calls."""
    return os.environ.get("DGM_UPSTREAM_MODEL") or os.environ["DGM_MODEL"]


def model_info() -> dict | None:
    """litellm's local record of the model (window, function calling), or None when unknown."""
    try:
        return dict(_import_litellm().get_model_info(model_info_name()))
    except Exception:  # litellm raises several kinds for an unmapped model
        return None


def _stop_for(error: Exception) -> ModelStop | None:
    response = getattr(error, "response", None)
    try:
        code = json.loads(response.text)["error"]["code"]
    except Exception:  # not a gateway error body: fall back on the status and litellm's class
        code = None
    if code in EXIT_FOR_CODE:
        return ModelStop(EXIT_FOR_CODE[code], str(error))
    status = getattr(error, "status_code", None)
    kind = type(error).__name__
    if kind == "ContextWindowExceededError":
        return ModelStop("context_overflow", str(error))
    if status == 402:
        return ModelStop("budget_exceeded", str(error))
    if kind in ("APIConnectionError", "Timeout", "ServiceUnavailableError", "InternalServerError",
                "RateLimitError", "BadGatewayError") or (isinstance(status, int) and status >= 500):
        return ModelStop("provider_error", str(error))
    return None


def _header(headers: dict, name: str) -> float | None:
    # litellm prefixes the provider's response headers with "llm_provider-"
    value = headers.get(f"llm_provider-{name}", headers.get(name))
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _arguments(raw: str) -> dict | None:
    try:
        parsed = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def complete(messages: list[dict], tools: list[dict] | None) -> Reply:
    litellm = _import_litellm()
    try:
        response = litellm.completion(
            model=os.environ["DGM_MODEL"], messages=messages, tools=tools or None,
            api_base=os.environ.get("OPENAI_BASE_URL"), api_key=os.environ.get("OPENAI_API_KEY"),
            num_retries=0, max_retries=0,
        )
    except Exception as e:
        stop = _stop_for(e)
        if stop:
            raise stop from e
        raise
    choice = response.choices[0]
    calls = [ToolCall(c.id, c.function.name, _arguments(c.function.arguments), c.function.arguments or "")
             for c in choice.message.tool_calls or []]
    headers = (getattr(response, "_hidden_params", None) or {}).get("additional_headers") or {}
    usage = getattr(response, "usage", None)
    return Reply(choice.message.content or "", calls, choice.finish_reason == "length",
                 getattr(usage, "prompt_tokens", 0) or 0,
                 _header(headers, "x-dgm-task-spent"), _header(headers, "x-dgm-task-budget"))

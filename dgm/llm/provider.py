"""One call to the configured model through litellm, and what its failures mean to a caller.

litellm is the translation layer only: the gateway owns retries, budget and the cost log, so
litellm's own retries are off and its success callbacks unused.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from dgm.config import ModelConfig
from dgm.errors import DgmError

# OpenAI chat parameters a caller may set; everything else in its body is dropped
FORWARDED = {"messages", "tools", "tool_choice", "temperature", "top_p", "max_tokens", "max_completion_tokens",
             "stop", "seed", "response_format", "parallel_tool_calls", "n", "reasoning_effort"}
# what providers say in a 400 when the account, not the request, is at fault (Anthropic: "Your credit
# balance is too low ...", OpenAI: billing_hard_limit_reached)
ACCOUNT_TROUBLE = ("credit balance", "billing_hard_limit", "billing hard limit")
SECONDS_PER_OUTPUT_TOKEN = 0.05  # a slow provider's pace (20 tokens/s): the attempt's timeout grows with max_tokens


def litellm():
    """litellm, imported on first use (it takes seconds) with its price map read locally."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    import litellm as module

    return module


class UpstreamError(DgmError):
    """The model call failed for good: `status` and `code` are what the gateway answers
    (contract 1 of the project: provider_unavailable, context_length_exceeded, content_policy, ...)."""

    def __init__(self, message: str, status: int, code: str = "upstream_error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class UpstreamConfig:
    model: str  # litellm model string
    api_base: str | None = None
    api_key_env: str | None = None  # the host environment variable holding the key
    input_price_per_mtok: float = -1.0  # negative: litellm's price
    output_price_per_mtok: float = -1.0
    extra: dict = field(default_factory=dict)  # passed to litellm as is (reasoning_effort, thinking, ...)
    drop_params: bool = True
    prompt_caching: bool = True
    max_tokens: dict = field(default_factory=lambda: {"agent": 8192, "diagnose": 16384, "self_modify": 8192})
    timeout: float = 120.0  # seconds per attempt before its output time
    retry_total_wait: float = 600.0
    retry_first_delay: float = 2.0
    max_concurrent_calls: int = 8
    tokens_per_minute: int = 0
    pause_after_failures: int = 3

    def api_key(self) -> str | None:
        # A local OpenAI-compatible server needs no key, but litellm's client insists on one.
        if not self.api_key_env:
            return "unused" if self.api_base else None
        key = os.environ.get(self.api_key_env)
        if not key:
            raise UpstreamError(f"the environment variable {self.api_key_env} holding the model key is not set",
                                500, "provider_unavailable")
        return key


def upstream_for(model: ModelConfig) -> UpstreamConfig:
    """The gateway's view of a run's [model] config."""
    return UpstreamConfig(
        model.name, model.api_base or None, model.api_key_env or None, model.input_price_per_mtok,
        model.output_price_per_mtok, dict(model.extra), model.drop_params, model.prompt_caching,
        {"agent": model.max_tokens_agent, "diagnose": model.max_tokens_diagnose,
         "self_modify": model.max_tokens_self_modify},
        model.timeout, model.retry_total_wait, model.retry_first_delay, model.max_concurrent_calls,
        model.tokens_per_minute, model.pause_after_failures)


def call(upstream: UpstreamConfig, params: dict, max_tokens: int) -> dict:
    """One attempt; litellm's exceptions pass through for the retry policy to judge. What it sets
    itself is dgm.config.SET_BY_DGM, which model.extra may not name."""
    response = litellm().completion(
        model=upstream.model, api_base=upstream.api_base, api_key=upstream.api_key(),
        timeout=upstream.timeout + max_tokens * SECONDS_PER_OUTPUT_TOKEN, num_retries=0, max_retries=0,
        drop_params=upstream.drop_params, **{**upstream.extra, **params})
    return json.loads(response.model_dump_json())


def failure(error: Exception, model: str, transient: bool) -> UpstreamError:
    """What a caller is told of a call that failed for good."""
    kind = type(error).__name__
    status = getattr(error, "status_code", None)
    message = f"upstream {model} failed: {error}"
    if kind == "ContextWindowExceededError":
        return UpstreamError(message, 400, "context_length_exceeded")
    if kind == "ContentPolicyViolationError":
        return UpstreamError(message, 400, "content_policy")
    if transient or not isinstance(status, int) or status >= 500:
        return UpstreamError(f"{message} (after the gateway's retries)", 503, "provider_unavailable")
    if status in (401, 403, 404) or any(words in str(error).lower() for words in ACCOUNT_TROUBLE):
        # the run's key, model name or account, not the caller's request: no agent's result
        return UpstreamError(f"{message} (fix the key, model.name or the account, then `dgm resume`)", 503,
                             "provider_unavailable")
    return UpstreamError(message, status, "upstream_error")

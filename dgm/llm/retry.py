"""When to try a provider call again, and how long to wait first.

Rate limits, overloads (Anthropic's 529), 5xx, connection resets and timeouts pass; a provider
that says when to come back (`Retry-After`) is taken at its word; otherwise the wait doubles from
`first_delay` up to `max_delay`, with jitter so callers do not return together. One call may wait
`total_wait` seconds in all (minutes: a provider's bad spell outlasts seconds of retries). A 400 (a
prompt over the window, a refusal, a bad parameter) or an authentication failure comes back the same
way every time: never retried.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

RETRYABLE_STATUS = {408, 409, 425, 429}  # and every 5xx (529: overloaded)
RETRYABLE_KINDS = {"RateLimitError", "APIConnectionError", "Timeout", "InternalServerError",
                   "ServiceUnavailableError", "BadGatewayError", "APIError"}


@dataclass(frozen=True)
class RetryPolicy:
    total_wait: float = 600.0  # seconds of waiting across one call's retries
    first_delay: float = 2.0
    max_delay: float = 60.0

    def delay(self, error: Exception, attempt: int, waited: float) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None: give up (the error is not
        transient, or the wait would pass `total_wait`)."""
        if not retryable(error):
            return None
        backoff = min(self.max_delay, self.first_delay * 2**attempt) * (1 + random.random() / 4)
        wait = max(retry_after(error) or 0.0, backoff)
        return wait if waited + wait <= self.total_wait else None


def retryable(error: Exception) -> bool:
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and (status in RETRYABLE_STATUS or status >= 500):
        return True
    if isinstance(status, int) and 400 <= status < 500:
        return False
    return type(error).__name__ in RETRYABLE_KINDS


def retry_after(error: Exception) -> float | None:
    """The provider's `Retry-After` (seconds or an HTTP date; `retry-after-ms` too), if it sent one."""
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None) or getattr(error, "litellm_response_headers", None) or {}
    try:
        if headers.get("retry-after-ms"):
            return float(headers["retry-after-ms"]) / 1000
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        date = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, date.timestamp() - time.time()) if date else None

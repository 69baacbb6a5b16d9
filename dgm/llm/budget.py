"""What model calls cost, and what the run and each task may still spend.

Every call is reserved at its worst case before it leaves (its prompt at the dearest input price
plus `max_tokens` of output, times `n`) and settled at its real cost when it returns, so calls in
flight together can never spend past a cap. Prices come from litellm's local map or from the
config; a model with neither is refused rather than run as if free.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from dgm.errors import DgmError

STATE_FILE = "llm_budget.json"  # spent and reserved, for `dgm status` while the run goes
CHARS_PER_TOKEN = 3  # a prompt's size in tokens, estimated from its JSON on the high side


class UnknownPrice(DgmError):
    """litellm has no price for the model and the config gives none."""


class BudgetExceeded(DgmError):
    """The run's model budget is spent; no further call is made."""


class TaskBudgetExceeded(DgmError):
    """One task's dollar cap is spent; its further calls are refused."""


@dataclass(frozen=True)
class TokenUsage:
    prompt: int = 0  # every input token, cache reads and writes included
    completion: int = 0  # reasoning tokens included
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @classmethod
    def of(cls, usage: dict) -> TokenUsage:
        """From an OpenAI-shaped usage (litellm's, whatever the provider)."""
        prompt_details = usage.get("prompt_tokens_details") or {}
        completion_details = usage.get("completion_tokens_details") or {}
        return cls(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                   int(prompt_details.get("cached_tokens") or usage.get("cache_read_input_tokens") or 0),
                   int(usage.get("cache_creation_input_tokens") or prompt_details.get("cache_creation_tokens") or 0),
                   int(completion_details.get("reasoning_tokens") or 0))


@dataclass(frozen=True)
class Prices:
    """Dollars per token."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def cost(self, usage: TokenUsage) -> float:
        fresh = max(0, usage.prompt - usage.cache_read - usage.cache_write)
        return (fresh * self.input + usage.cache_read * self.cache_read + usage.cache_write * self.cache_write
                + usage.completion * self.output)

    def worst_case(self, body: dict, max_tokens: int) -> float:
        """The most a call can cost: its whole prompt written to the cache (the dearest input) and
        every allowed output token, for each of its `n` answers."""
        prompt = len(json.dumps([body.get("messages"), body.get("tools")])) // CHARS_PER_TOKEN
        return (prompt * max(self.input, self.cache_write) + max_tokens * self.output) * int(body.get("n") or 1)


def prices_for(model: str, input_per_mtok: float = -1.0, output_per_mtok: float = -1.0) -> Prices:
    """The config's prices where given (non-negative), litellm's local map for the rest."""
    from dgm.llm.provider import litellm

    try:
        info = litellm().get_model_info(model)
    except Exception:
        info = None
    if info is None or info.get("input_cost_per_token") is None:
        if input_per_mtok < 0 or output_per_mtok < 0:
            raise UnknownPrice(f"litellm knows no price for model {model!r}: set model.input_price_per_mtok and "
                               "model.output_price_per_mtok in the config (`dgm bench run`: --input-price and "
                               "--output-price; 0 for a free local model)")
        info = {}
    given_in = input_per_mtok / 1e6 if input_per_mtok >= 0 else None
    fresh = given_in if given_in is not None else float(info["input_cost_per_token"])
    output = output_per_mtok / 1e6 if output_per_mtok >= 0 else float(info.get("output_cost_per_token") or 0.0)
    if given_in is not None:  # the user's input price covers every kind of input token
        return Prices(fresh, output, fresh, fresh)
    return Prices(fresh, output, float(info.get("cache_read_input_token_cost") or fresh),
                  float(info.get("cache_creation_input_token_cost") or fresh))


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


@dataclass(frozen=True)
class Reservation:
    caller: tuple[str, str]  # (variant, task)
    amount: float


class Ledger:
    """The run's spend and reservations, per caller and in total, under one lock."""

    def __init__(self, budget: float | None, spent: float = 0.0, state_dir: Path | None = None) -> None:
        self.budget = budget
        self.spent = spent
        self.reserved = 0.0
        self.refused = False  # a call was refused for the run's budget: the run is out of money
        self._state = state_dir / STATE_FILE if state_dir is not None else None
        self._lock = threading.Lock()
        self._usage: dict[tuple[str, str], Usage] = {}
        self._task_reserved: dict[tuple[str, str], float] = {}
        self._task_budgets: dict[tuple[str, str], float] = {}

    def set_task_budget(self, caller: tuple[str, str], dollars: float | None) -> None:
        with self._lock:
            if dollars is None:
                self._task_budgets.pop(caller, None)
            else:
                self._task_budgets[caller] = dollars

    def task_budget(self, caller: tuple[str, str]) -> float | None:
        with self._lock:
            return self._task_budgets.get(caller)

    def reserve(self, caller: tuple[str, str], worst: float) -> Reservation:
        with self._lock:
            if self.budget is not None and self.spent + self.reserved + worst > self.budget:
                self.refused = True
                raise BudgetExceeded(
                    f"the run's model budget of ${self.budget:.4f} is spent (${self.spent:.4f} used, "
                    f"${self.reserved:.4f} reserved by calls in flight, this call may cost ${worst:.4f}); "
                    "no further model calls")
            cap = self._task_budgets.get(caller)
            task_spent = self._usage.get(caller, Usage()).cost
            task_reserved = self._task_reserved.get(caller, 0.0)
            if cap is not None and task_spent + task_reserved + worst > cap:
                raise TaskBudgetExceeded(
                    f"this task's model budget of ${cap:.4f} is spent (${task_spent:.4f} used, this call may "
                    f"cost ${worst:.4f}); finish with what you have")
            self.reserved += worst
            self._task_reserved[caller] = task_reserved + worst
            self._write_state()
        return Reservation(caller, worst)

    def release(self, reservation: Reservation) -> None:
        """The call failed without being billed: its reservation is freed."""
        self.settle(reservation, None)

    def settle(self, reservation: Reservation, cost: float | None, prompt: int = 0, completion: int = 0) -> None:
        """The call is over: its reservation is freed and what it cost is spent (None: no call)."""
        with self._lock:
            self.reserved -= reservation.amount
            self._task_reserved[reservation.caller] -= reservation.amount
            if cost is None:
                self._write_state()
                return
            usage = self._usage.setdefault(reservation.caller, Usage())
            usage.calls += 1
            usage.prompt_tokens += prompt
            usage.completion_tokens += completion
            usage.cost += cost
            self.spent += cost
            self._write_state()

    def usage(self, variant_id: str | None = None, task_id: str | None = None) -> Usage:
        total = Usage()
        with self._lock:
            for (variant, task), usage in self._usage.items():
                if variant_id in (None, variant) and task_id in (None, task):
                    total.calls += usage.calls
                    total.prompt_tokens += usage.prompt_tokens
                    total.completion_tokens += usage.completion_tokens
                    total.cost += usage.cost
        return total

    def _write_state(self) -> None:
        if self._state is None:
            return
        tmp = self._state.with_suffix(".tmp")
        tmp.write_text(json.dumps({"spent": self.spent, "reserved": self.reserved}))
        os.replace(tmp, self._state)


def budget_state(run_dir: Path) -> tuple[float, float]:
    """(spent, reserved by calls in flight) as the run's gateway last wrote them; zeros before any."""
    try:
        state = json.loads((run_dir / STATE_FILE).read_text())
        return float(state["spent"]), float(state["reserved"])
    except (OSError, ValueError, KeyError):
        return 0.0, 0.0

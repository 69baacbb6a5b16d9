"""What a finished evaluation leaves beside its logs (`result.json`: verdict, reason, agent exit,
duration), read back by the diagnosis and the evaluation cache, and which outcomes are trouble of
the infrastructure rather than the agent's doing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from dgm.evaluation import EvalResult

RESULT_FILE = "result.json"
# the agent's exits that say nothing about the agent: the provider, the harness or the run's budget
# ended it. A task that spent its own dollar cap (task_budget_exceeded) is the agent's doing: it is
# scored, cached and may be diagnosed like any unresolved task.
INFRA_EXITS = frozenset({"harness_error", "provider_error", "budget_exceeded"})
INFRA_REASONS = ("harness error", "grading ended by")  # a crash of the harness; the grader's timeout or OOM


def is_infrastructure_failure(agent_exit: str, reason: str = "") -> bool:
    return agent_exit in INFRA_EXITS or reason.startswith(INFRA_REASONS)


def write_result(log_dir: Path, result: EvalResult) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / RESULT_FILE).write_text(json.dumps(dataclasses.asdict(result), indent=1))


def read_result(log_dir: Path) -> EvalResult | None:
    """The recorded result, or None for logs without one (or with a damaged one)."""
    try:
        return EvalResult(**json.loads((log_dir / RESULT_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None

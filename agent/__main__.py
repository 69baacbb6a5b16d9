"""`python -m agent solve --repo DIR --issue FILE`: work on an issue, write the patch.

Without a model (DGM_MODEL unset), or with DGM_POLICY=repair, the model-free repair policy
(agent.repair) works on the issue instead of the LLM loop.

Environment: DGM_MODEL (the litellm model string to call), OPENAI_BASE_URL and OPENAI_API_KEY
(the gateway and this task's token), DGM_UPSTREAM_MODEL (the provider's model behind the gateway,
for litellm's record of its window and function calling), DGM_ACTION_FORMAT (tools, text or auto:
text when litellm reports that the model lacks function calling), DGM_CLOCK_START (the Unix time
the task's clock started, e.g. when its container did: --time-limit counts from then, not from the
agent's own start, which setting up the repository and importing litellm delay).

Every way the agent ends writes the patch (possibly empty) and a last trajectory record
{"type": "exit", "reason": ...}. Exit codes: 0 the agent ended (see the reason), 2 DGM_POLICY=llm
but no model configured, 3 the run's budget is spent, 1 any other error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from agent.budget import Budget, DeadlineReached, arm_deadline
from agent.context import Context, context_window
from agent.llm import ModelStop, model_info
from agent.loop import solve
from agent.patch import repository_diff
from agent.repair import Budget as RepairBudget
from agent.repair import repair
from agent.trajectory import Trajectory


def action_format(configured: str, info: dict | None) -> str:
    """tools or text; "auto" is text only for a model litellm knows to lack function calling."""
    if configured != "auto":
        return configured
    return "text" if info is not None and not info.get("supports_function_calling") else "tools"


def clock_start() -> float:
    """The time.monotonic() at which the task's clock started: DGM_CLOCK_START, else now."""
    started = os.environ.get("DGM_CLOCK_START")
    return time.monotonic() - (max(0.0, time.time() - float(started)) if started else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agent")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("solve", help="work on an issue in a git repository")
    run.add_argument("--repo", type=Path, required=True)
    run.add_argument("--issue", type=Path, required=True)
    run.add_argument("--patch-out", type=Path)
    run.add_argument("--trajectory", type=Path)
    run.add_argument("--max-steps", type=int, default=Budget.max_steps)
    run.add_argument("--time-limit", type=float, help="seconds of wall clock from the task's start "
                     "(DGM_CLOCK_START, else the agent's); the agent stops before it and writes its patch")
    run.add_argument("--context-window", type=int, default=0,
                     help="tokens to keep the conversation under (default: litellm's record of the model)")
    args = parser.parse_args()
    budget = Budget(args.max_steps, args.time_limit, started=clock_start())

    # The one place a policy is chosen: the LLM loop when a model is configured, unless the
    # repair policy is asked for; the repair policy when there is no model.
    policy = os.environ.get("DGM_POLICY") or ("llm" if os.environ.get("DGM_MODEL") else "repair")
    if policy == "llm" and not os.environ.get("DGM_MODEL"):
        print("no model configured: set DGM_MODEL (a litellm model string)", file=sys.stderr)
        sys.exit(2)
    repo = args.repo.resolve()
    trajectory = Trajectory(args.trajectory)
    code = 0
    arm_deadline(budget)
    try:
        if policy == "repair":
            trajectory.write("policy", name="repair")
            reason = repair(repo, args.issue.read_text(), trajectory, RepairBudget())
        else:
            info = model_info()
            fmt = action_format(os.environ.get("DGM_ACTION_FORMAT", "auto"), info)
            context = Context(context_window(args.context_window, info))
            trajectory.write("settings", action_format=fmt, context_window=context.window, max_steps=args.max_steps,
                             time_limit=args.time_limit, time_left=budget.time_left())
            reason = solve(repo, args.issue.read_text(), budget, context, trajectory, fmt)
        trajectory.write("exit", reason=reason)
    except DeadlineReached as e:
        trajectory.write("exit", reason="deadline", message=str(e))
    except ModelStop as e:
        trajectory.write("exit", reason=e.reason, message=str(e))
        code = 3 if e.reason == "budget_exceeded" else 0
    except Exception as e:  # the patch so far is still the answer
        trajectory.write("exit", reason="error", message=f"{type(e).__name__}: {e}")
        code = 1
    finally:  # even should the deadline strike in a handler above
        arm_deadline(None)
        _write_patch(repo, args.patch_out)
        trajectory.close()
    sys.exit(code)


def _write_patch(repo: Path, out: Path | None) -> None:
    patch = repository_diff(repo)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(patch)
    else:
        sys.stdout.write(patch)


if __name__ == "__main__":
    main()

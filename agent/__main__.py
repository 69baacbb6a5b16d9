"""`python -m agent solve --repo DIR --issue FILE`: work on an issue, write the patch.

Without a model (DGM_MODEL unset), or with DGM_POLICY=repair, the model-free repair policy
(agent.repair) works on the issue instead of the LLM loop.

Exit codes: 0 the loop ended (submitted or a limit), 2 DGM_POLICY=llm but no model configured,
3 the run's budget is spent (the patch so far is still written), 1 any other error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from agent.llm import BudgetExceeded
from agent.loop import Limits, solve
from agent.patch import repository_diff
from agent.repair import Budget, repair
from agent.trajectory import Trajectory


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m agent")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("solve", help="work on an issue in a git repository")
    run.add_argument("--repo", type=Path, required=True)
    run.add_argument("--issue", type=Path, required=True)
    run.add_argument("--patch-out", type=Path)
    run.add_argument("--trajectory", type=Path)
    run.add_argument("--max-steps", type=int, default=Limits.max_steps)
    run.add_argument("--max-tokens", type=int, default=Limits.max_tokens)
    run.add_argument("--max-cost", type=float, default=Limits.max_cost)
    args = parser.parse_args()

    # The one place a policy is chosen: the LLM loop when a model is configured, unless the
    # repair policy is asked for; the repair policy when there is no model.
    policy = os.environ.get("DGM_POLICY") or ("llm" if os.environ.get("DGM_MODEL") else "repair")
    if policy == "llm" and not os.environ.get("DGM_MODEL"):
        print("no model configured: set DGM_MODEL (a litellm model string)", file=sys.stderr)
        sys.exit(2)
    repo = args.repo.resolve()
    trajectory = Trajectory(args.trajectory)
    code = 0
    try:
        if policy == "repair":
            trajectory.write("policy", name="repair")
            reason = repair(repo, args.issue.read_text(), trajectory, Budget())
        else:
            reason = solve(repo, args.issue.read_text(), Limits(args.max_steps, args.max_tokens, args.max_cost),
                           trajectory, os.environ.get("DGM_ACTION_FORMAT", "tools"))
        trajectory.write("exit", reason=reason)
    except BudgetExceeded as e:
        trajectory.write("exit", reason="budget_exceeded", message=str(e))
        code = 3
    except Exception as e:  # the patch so far is still the answer
        trajectory.write("exit", reason="error", message=f"{type(e).__name__}: {e}")
        code = 1
    patch = repository_diff(repo)
    if args.patch_out:
        args.patch_out.parent.mkdir(parents=True, exist_ok=True)
        args.patch_out.write_text(patch)
    else:
        sys.stdout.write(patch)
    trajectory.close()
    sys.exit(code)


if __name__ == "__main__":
    main()

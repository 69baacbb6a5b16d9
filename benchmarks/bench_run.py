"""Run an agent variant on a suite's tasks and grade every patch: the agent in one container
(reaching models only through a gateway), the grading in a fresh one."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.agent_run import run_agent_on_task
from benchmarks.task_suite import TaskSuite
from benchmarks.tasks import Task
from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from sandbox.container import Limits
from sandbox.llm_bridge import Bridge, bridge
from sandbox.pool import ContainerPool


@dataclass(frozen=True)
class TaskRun:
    instance_id: str
    difficulty: str
    resolved: bool
    reason: str  # the grader's verdict
    agent_exit: str
    agent_seconds: float
    grade_seconds: float
    cost: float


def run_suite(suite: TaskSuite, tasks: Sequence[Task], genome_dir: Path, out_dir: Path, *, workers: int,
              model: UpstreamConfig | None, budget: float | None, limits: Limits,
              on_done: Callable[[TaskRun], None] = lambda run: None) -> list[TaskRun]:
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        gateway = None
        if model is not None:
            # unix socket paths are limited to ~100 bytes: keep the socket in a short temp dir
            socket_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dgm-gw-")))
            gateway = stack.enter_context(Gateway(model, out_dir, budget, socket_path=socket_dir / "llm.sock"))

        def one(task: Task) -> TaskRun:
            logs = out_dir / task.instance_id
            token = gateway.issue_token("bench", task.instance_id) if gateway else ""
            access = bridge(gateway.socket_path, token) if gateway else Bridge()
            try:
                outcome = run_agent_on_task(genome_dir, task, suite, suite.image_for(task), log_dir=logs / "agent",
                                            bridge=access, limits=limits, run_id="bench")
            finally:
                if gateway:
                    gateway.revoke_token(token)
            result = suite.grade(task, outcome.patch, log_dir=logs / "grade", timeout=limits.timeout, run_id="bench")
            cost = gateway.usage(task_id=task.instance_id).cost if gateway else 0.0
            return TaskRun(task.instance_id, task.difficulty, result.resolved, result.reason, outcome.agent_exit,
                           outcome.duration, result.duration, cost)

        runs = []
        for task, run in ContainerPool(workers).map_unordered(one, tasks):
            if isinstance(run, BaseException):
                run = TaskRun(task.instance_id, task.difficulty, False, f"harness error: {run}", "none", 0.0, 0.0, 0.0)
            runs.append(run)
            on_done(run)
    runs.sort(key=lambda r: r.instance_id)
    summary = {"suite": suite.name, "resolved": sum(r.resolved for r in runs), "total": len(runs),
               "by_difficulty": by_difficulty(runs), "tasks": [asdict(r) for r in runs]}
    (out_dir / "results.json").write_text(json.dumps(summary, indent=1))
    return runs


# Generated difficulties from easiest to hardest, then upstream fixes; others follow by name.
DIFFICULTY_ORDER = ("one-token", "one-line", "multi-line", "two-function", "real")


def by_difficulty(runs: Sequence[TaskRun]) -> dict[str, dict[str, float]]:
    """Resolved, total and resolve rate for each difficulty among `runs` ("" for tasks without one)."""
    names = sorted({r.difficulty for r in runs},
                   key=lambda d: (DIFFICULTY_ORDER.index(d) if d in DIFFICULTY_ORDER else len(DIFFICULTY_ORDER), d))
    rows = {}
    for name in names:
        chosen = [r for r in runs if r.difficulty == name]
        resolved = sum(r.resolved for r in chosen)
        rows[name] = {"resolved": resolved, "total": len(chosen), "rate": resolved / len(chosen)}
    return rows

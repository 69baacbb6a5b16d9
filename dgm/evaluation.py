"""One evaluation: a variant's agent works on one task in a container, a fresh container grades
its patch. A job carries everything a worker needs, so the same job runs in the local pool or on
a Ray node (see dgm/executors.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.agent_run import run_agent_on_task
from benchmarks.task_suite import TaskSuite
from benchmarks.tasks import Task
from sandbox.container import Limits
from sandbox.llm_bridge import Bridge


@dataclass(frozen=True)
class EvalJob:
    variant_id: str
    task: Task
    suite: TaskSuite
    image: str  # the task's image (suite.image_for), built where the job was made
    genome_dir: Path
    log_dir: Path
    limits: Limits
    env: dict[str, str] = field(default_factory=dict)  # the agent's policy settings
    bridge: Bridge = Bridge()
    agent_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvalResult:
    variant_id: str
    task_id: str
    resolved: bool
    reason: str  # the grader's verdict
    agent_exit: str
    duration: float  # seconds, agent and grading

    @property
    def budget_stopped(self) -> bool:
        """The agent was cut off by the run's budget: not a result to record, but a signal to stop."""
        return self.agent_exit == "budget_exceeded"


class Cancelled(Exception):
    """The run is stopping: the job's agent container was removed and nothing more may start."""


def evaluate(job: EvalJob, cancelled: threading.Event | None = None) -> EvalResult:
    def check() -> None:
        if cancelled is not None and cancelled.is_set():
            raise Cancelled(f"evaluation of {job.variant_id} on {job.task.instance_id} cancelled")

    check()
    outcome = run_agent_on_task(job.genome_dir, job.task, job.suite, job.image, log_dir=job.log_dir / "agent",
                                env=job.env, bridge=job.bridge, limits=job.limits, agent_args=job.agent_args,
                                run_id=f"eval-{job.variant_id}")
    check()
    if outcome.agent_exit in ("budget_exceeded", "provider_error"):  # not results: nothing to grade
        return EvalResult(job.variant_id, job.task.instance_id, False, outcome.agent_exit.replace("_", " "),
                          outcome.agent_exit, outcome.duration)
    graded = job.suite.grade(job.task, outcome.patch, log_dir=job.log_dir / "grade", timeout=job.limits.timeout,
                             run_id=f"grade-{job.variant_id}")
    return EvalResult(job.variant_id, job.task.instance_id, graded.resolved, graded.reason, outcome.agent_exit,
                      outcome.duration + graded.duration)

"""Run an agent variant on a task inside a container; its patch is graded separately, in a
fresh container, so nothing the agent leaves behind can touch the grading."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from benchmarks import index_cache
from benchmarks.checkout import checkout_script
from benchmarks.suite import Suite
from benchmarks.task_suite import AgentSetup, TaskSuite
from benchmarks.tasks import Task
from dgm.errors import DgmError
from sandbox.container import WORKDIR, Limits, Sandbox
from sandbox.llm_bridge import Bridge
from sandbox.task_container import TaskSide, task_container

GENOME_ROOTS = ("agent", "tools")


@dataclass(frozen=True)
class AgentOutcome:
    patch: str
    exit_code: int | None
    reason: str  # how the container ended: exit | timeout | oom
    agent_exit: str  # the agent's own exit record: submitted, step_limit, budget_exceeded, ...
    trajectory: Path
    duration: float


COMMIT = "git add -A && git -c user.name=dgm -c user.email=dgm@localhost commit -qm"


def task_repo_setup(task: Task, suite: Suite) -> str:
    """Shell that makes /work/repo the task's repository at its base, as a git work tree whose
    one commit is the base: a commit of the pristine tree before it would show the injected bug
    (the gold patch reversed) to `git log -p`."""
    assert task.source is not None
    project = suite.project_for(task.source.location)
    return f"""{checkout_script(project)}git init -q && {COMMIT} base
"""


def run_agent(genome_dir: Path, image: str, issue: str, setup: AgentSetup, *, log_dir: Path,
              env: Mapping[str, str] = {}, bridge: Bridge = Bridge(), limits: Limits = Limits(),
              agent_args: Sequence[str] = (), run_id: str = "agent") -> AgentOutcome:
    """Run the genome in `genome_dir` on `issue` in a container: `setup.repo_setup` (shell) makes
    `setup.repo` from `setup.inputs` (copied in first); the patch and trajectory come back."""
    log_dir.mkdir(parents=True, exist_ok=True)
    # The agent's --time-limit counts from here, where the container's timeout starts (near
    # enough), not from its own start after the repository's setup.
    script = f"""set -u
export DGM_CLOCK_START=$(date +%s)
mkdir -p /work/out
{setup.repo_setup}
cd /work && PYTHONPATH=/work/genome python -m agent solve --repo {setup.repo} --issue /work/task/issue.md \\
  --patch-out /work/out/patch.diff --trajectory /work/out/trajectory.jsonl {" ".join(agent_args)}
"""
    cache = index_cache.host_cache(genome_dir, image, setup)
    with ExitStack() as stack:
        if setup.task_env is None:
            agent_image, side = image, TaskSide((), {}, {})
            # a repository outside /work (SWE-bench's /testbed) gets its own writable volume,
            # filled from the image's content there, since the root file system is read-only
            volumes = () if PurePosixPath(setup.repo).is_relative_to(WORKDIR) else (setup.repo,)
        else:  # the agent in dgm's image, its commands in the task's container
            from sandbox.image import ensure_sandbox_image

            agent_image, volumes = ensure_sandbox_image(), ()
            side = stack.enter_context(task_container(image, setup.repo, prologue=setup.task_env, limits=limits,
                                                      run_id=run_id))
        box = stack.enter_context(Sandbox(
            agent_image, bridge.wrap(["bash", "-c", script]), limits=limits,
            env={**env, **bridge.env, **side.env, index_cache.ENV: index_cache.IN_CONTAINER},
            mounts=(*bridge.mounts, *side.mounts), volumes=volumes, shared=side.shared, run_id=run_id))
        box.put_all([*((f"/work/genome/{root}", genome_dir / root) for root in GENOME_ROOTS),
                     *setup.inputs.items(), ("/work/task", {"issue.md": issue}),
                     *([(index_cache.IN_CONTAINER, cache)] if cache.is_dir() else [])])
        result = box.run()
        index_cache.carry_out(box, cache)
        try:
            left_out = box.get_tree("/work/out", log_dir)
        except DgmError as e:
            left_out = [str(e)]
    copy_notes = "".join(f"\n[copy out of /work/out: {line}]" for line in left_out)
    (log_dir / "agent_output.txt").write_text(result.stdout + "\n--- stderr ---\n" + result.stderr + copy_notes)
    out = log_dir / "out"
    trajectory = out / "trajectory.jsonl"
    agent_exit = "none"
    if trajectory.exists():
        lines = [json.loads(line) for line in trajectory.read_text().splitlines() if line.strip()]
        exits = [line for line in lines if line.get("type") == "exit"]
        agent_exit = exits[-1]["reason"] if exits else "crashed"
    if agent_exit in ("none", "crashed") and result.reason == "timeout":
        agent_exit = "timeout"  # stopped by the container's wall clock, not by a fault of its own
    patch_file = out / "patch.diff"
    return AgentOutcome(patch_file.read_text() if patch_file.exists() else "", result.exit_code, result.reason,
                        agent_exit, trajectory, result.duration)


def run_agent_on_task(genome_dir: Path, task: Task, suite: TaskSuite, image: str, *, log_dir: Path,
                      env: Mapping[str, str] = {}, bridge: Bridge = Bridge(), limits: Limits = Limits(),
                      agent_args: Sequence[str] = (), run_id: str = "agent") -> AgentOutcome:
    return run_agent(genome_dir, image, task.problem_statement, suite.agent_setup(task), log_dir=log_dir,
                     env=env, bridge=bridge, limits=limits, agent_args=agent_args, run_id=run_id)

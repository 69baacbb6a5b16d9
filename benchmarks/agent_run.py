"""Run an agent variant on a task inside a container; its patch is graded separately, in a
fresh container, so nothing the agent leaves behind can touch the grading."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.suite import Suite, tree_dir
from benchmarks.tasks import Task
from dgm.errors import DgmError
from sandbox.container import Limits, Mount, Sandbox

GENOME_ROOTS = ("agent", "tools")


@dataclass(frozen=True)
class AgentOutcome:
    patch: str
    exit_code: int | None
    reason: str  # how the container ended: exit | timeout | oom
    agent_exit: str  # the agent's own exit record: submitted, step_limit, budget_exceeded, ...
    trajectory: Path
    duration: float


def agent_script(task: Task, suite: Suite, agent_args: Sequence[str]) -> str:
    assert task.source is not None
    project = suite.project_for(task.source.location)
    args = " ".join(agent_args)
    return f"""set -u
mkdir -p /work/out && cp -a {tree_dir(project)} /work/repo && cd /work/repo
git init -q && git add -A && git -c user.name=dgm -c user.email=dgm@localhost commit -qm pristine
if [ -s /work/task/setup.patch ]; then git apply /work/task/setup.patch || exit 90; fi
git add -A && git -c user.name=dgm -c user.email=dgm@localhost commit -qm base
cd /work && PYTHONPATH=/work/genome python -m agent solve --repo /work/repo --issue /work/task/issue.md \\
  --patch-out /work/out/patch.diff --trajectory /work/out/trajectory.jsonl {args}
"""


def run_agent_on_task(genome_dir: Path, task: Task, suite: Suite, image: str, *, log_dir: Path,
                      env: Mapping[str, str] = {}, mounts: Sequence[Mount] = (), limits: Limits = Limits(),
                      agent_args: Sequence[str] = (), wrap=lambda command: command, run_id: str = "agent") -> AgentOutcome:
    """`wrap` adds what must start first (e.g. the LLM bridge) around the command."""
    if task.source is None:
        raise DgmError(f"task {task.instance_id} has no source to build its repository from")
    log_dir.mkdir(parents=True, exist_ok=True)
    command = wrap(["bash", "-c", agent_script(task, suite, agent_args)])
    with Sandbox(image, command, limits=limits, env=env, mounts=mounts, run_id=run_id) as box:
        for root in GENOME_ROOTS:
            box.put(f"/work/genome/{root}", genome_dir / root)
        box.put("/work/task", {"setup.patch": task.source.setup_patch, "issue.md": task.problem_statement})
        result = box.run()
        try:
            box.get_tree("/work/out", log_dir)
        except DgmError:
            pass
    (log_dir / "agent_output.txt").write_text(result.stdout + "\n--- stderr ---\n" + result.stderr)
    out = log_dir / "out"
    trajectory = out / "trajectory.jsonl"
    agent_exit = "none"
    if trajectory.exists():
        lines = [json.loads(line) for line in trajectory.read_text().splitlines() if line.strip()]
        exits = [line for line in lines if line.get("type") == "exit"]
        agent_exit = exits[-1]["reason"] if exits else "crashed"
    patch_file = out / "patch.diff"
    return AgentOutcome(patch_file.read_text() if patch_file.exists() else "", result.exit_code, result.reason,
                        agent_exit, trajectory, result.duration)

"""What the agent's second container costs: an agent container cycle on a SWE-bench task alone,
against the same cycle with the task's container beside it (shared volumes, exec relay, one
command relayed), as run_agent pays it per evaluation. Goal: at most 0.5 s more.

    python -m benchmarks.perf.task_container [--cycles 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from rich.console import Console

from benchmarks.swebench_repo import TESTBED, env_prologue, load_swebench_repo
from sandbox.container import Limits, Sandbox
from sandbox.image import ensure_sandbox_image
from sandbox.task_container import TaskSide, task_container

FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "swebench"
# what the agent does first with its shell: one command in the task's environment
COMMAND = ["bash", "-c", "python -c 'from tools.bash import run_bash; import pathlib; "
           "assert run_bash(\"git status --short\", pathlib.Path(\"/testbed\")).exit_code == 0'"]


def cycle(agent_image: str, task_image: str, prologue: str, paired: bool) -> float:
    started = time.perf_counter()
    limits = Limits(timeout=120)
    env = {"PYTHONPATH": "/work/genome"}
    if paired:
        with task_container(task_image, TESTBED, prologue=prologue, limits=limits, run_id="bench") as side:
            _agent(agent_image, side, env, limits)
    else:
        # the agent alone in the task's image, /testbed its own volume (the pre-relay way)
        _agent(task_image, TaskSide((), {}, {}), {**env, "DGM_EXEC_SOCKET": ""}, limits, volumes=(TESTBED,))
    return time.perf_counter() - started


def _agent(image: str, side: TaskSide, env: dict, limits: Limits, volumes: tuple[str, ...] = ()) -> None:
    with Sandbox(image, COMMAND, limits=limits, env={**env, **side.env}, mounts=side.mounts, shared=side.shared,
                 volumes=volumes, run_id="bench") as box:
        box.put("/work/genome/tools", Path(__file__).resolve().parents[2] / "tools")
        result = box.run()
        assert result.ok, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=10)
    args = parser.parse_args()
    suite = load_swebench_repo(FIXTURE)
    task = suite.tasks()[0]
    task_image, agent_image = suite.image_for(task), ensure_sandbox_image()
    prologue = env_prologue(task.extra["eval_script"])
    alone, paired = [], []
    for _ in range(args.cycles):  # interleaved, so load drifts hit both alike
        alone.append(cycle(agent_image, task_image, prologue, False))
        paired.append(cycle(agent_image, task_image, prologue, True))
    a, p = statistics.median(alone), statistics.median(paired)
    Console().print(f"agent container alone p50 {a:.3f} s; with the task container and relay p50 {p:.3f} s; "
                    f"extra {p - a:+.3f} s per evaluation (goal <= 0.5 s), {args.cycles} cycles")


if __name__ == "__main__":
    main()

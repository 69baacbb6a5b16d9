"""Agent start-up: the seed agent's time to its first model call, and to its first code-index
answer (a repository map), for the first agent on a task (cold index) and the next ones (the
index the host carried over, `benchmarks/index_cache.py`), beside the raw floor measured in the
same run: the bare container cycle of `benchmarks.perf.sandbox`.

The model is the project's scripted OpenAI-compatible server on loopback, reached through the
run's gateway as in a run; no provider is called.

    python -m benchmarks.perf.agent_start [--suite pyfix] [--task ID] [--agents 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.agent_run import run_agent_on_task
from benchmarks.perf.sandbox import container_cycle
from benchmarks.suite import ensure_environment_image, load_suite
from dgm.llm.gateway import Gateway
from dgm.llm.provider import UpstreamConfig
from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply
from sandbox.container import Limits
from sandbox.image import ensure_sandbox_image
from sandbox.llm_bridge import bridge

GENOME = Path(__file__).resolve().parents[2]
SCRIPT = [ScriptedReply(tool_calls=[{"name": "repo_map", "arguments": {}}]),
          ScriptedReply(tool_calls=[{"name": "submit", "arguments": {}}])]


def agent_start(task, suite, image: str, work: Path) -> tuple[float, float]:
    """(seconds to the first model call, seconds from the model's first answer to the map)."""
    first_call: list[float] = []
    replies = iter(SCRIPT)

    def respond(body: dict) -> ScriptedReply:
        first_call.append(time.time())
        return next(replies)

    os.environ["DGM_PERF_UPSTREAM_KEY"] = "sk-perf-local"
    with ScriptedLLMServer(respond) as upstream, Gateway(
        UpstreamConfig(model="openai/perf-model", api_base=upstream.url, api_key_env="DGM_PERF_UPSTREAM_KEY",
                       input_price_per_mtok=0.0, output_price_per_mtok=0.0),
        work / "run", socket_path=work / "gw" / "llm.sock",
    ) as gateway:
        started = time.time()
        outcome = run_agent_on_task(GENOME, task, suite, image, log_dir=work / "agent", limits=Limits(timeout=600),
                                    bridge=bridge(work / "gw" / "llm.sock", gateway.issue_token("perf", task.instance_id)))
    records = [json.loads(line) for line in outcome.trajectory.read_text().splitlines()]
    answered = next(r["time"] for r in records if r["type"] == "message" and r.get("role") == "assistant")
    mapped = next(r["time"] for r in records if r["type"] == "tool" and r["name"] == "repo_map")
    return first_call[0] - started, mapped - answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="pyfix")
    parser.add_argument("--task", help="task id (default: the suite's first by id)")
    parser.add_argument("--agents", type=int, default=3, help="agents run one after another on the task")
    args = parser.parse_args()
    suite = load_suite(args.suite)
    image = ensure_environment_image(suite)
    tasks = sorted(suite.tasks(), key=lambda t: t.instance_id)
    task = next(t for t in tasks if t.instance_id == args.task) if args.task else tasks[0]
    sandbox_image = ensure_sandbox_image()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="dgm-agent-start-") as tmp:
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp, "host-cache"))  # the first agent starts cold
        results = [agent_start(task, suite, image, Path(tmp, f"agent{i}")) for i in range(args.agents)]
    container_cycle(sandbox_image)
    floor = statistics.median(container_cycle(sandbox_image) for _ in range(5))
    table = Table(title=f"agent start on {task.instance_id} (load average {load_before:.2f} -> "
                        f"{os.getloadavg()[0]:.2f}; raw floor: container cycle {floor:.2f} s)")
    for column in ("agent", "index", "to first model call s", "first map s"):
        table.add_column(column, justify="left" if column in ("agent", "index") else "right")
    for i, (first_call, mapped) in enumerate(results):
        table.add_row(str(i + 1), "cold" if i == 0 else "carried over", f"{first_call:.2f}", f"{mapped:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()

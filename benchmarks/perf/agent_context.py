"""Prompt tokens and dollars per task of the seed agent, with and without eliding old tool outputs.

The real agent (`python -m agent solve`) runs a scripted 60-call trajectory against the scripted
model over HTTP, on a git copy of this project's own `dgm/` and `tools/`: it reads whole files,
searches, looks up definitions and runs shell commands, so its tool outputs have the sizes real
ones have. Every prompt the model was sent is counted with litellm's tokenizer and priced at a
named model's litellm prices, without caching and with a prompt cache (the unchanged leading
messages of each prompt read from the cache, the rest written to it).

    python -m benchmarks.perf.agent_context [--model claude-sonnet-4-5] [--windows 32000 64000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply

ROOT = Path(__file__).resolve().parents[2]
NO_ELISION = 10_000_000  # a window no trajectory reaches


def _call(tool: str, **arguments) -> ScriptedReply:
    return ScriptedReply(tool_calls=[{"name": tool, "arguments": arguments}])


def trajectory(repo: Path, calls: int) -> list[ScriptedReply]:
    """`calls` tool calls in a realistic mix, then submit."""
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py") if p.stat().st_size > 4_000)
    words = ["config", "budget", "timeout", "def run", "import json", "raise", "return None", "self._lock"]
    symbols = ["Gateway", "Editor", "load_config", "CodeIndex", "replace_text", "run_bash", "Template"]
    commands = ["git log --stat | head -150", "grep -rn 'def ' dgm | head -200", "ls -laR tools dgm | head -120",
                "python -c 'import this'", "wc -l $(git ls-files) | tail -40"]
    kinds = itertools.cycle(["view", "search_text", "view", "bash", "find_definition", "view", "bash", "view"])
    sources = {"view": itertools.cycle(files), "search_text": itertools.cycle(words),
               "find_definition": itertools.cycle(symbols), "bash": itertools.cycle(commands)}
    script = []
    for _ in range(calls):
        kind = next(kinds)
        value = next(sources[kind])
        argument = {"view": "path", "search_text": "pattern", "find_definition": "name", "bash": "command"}[kind]
        script.append(_call(kind, **{argument: value}))
    return script + [_call("submit")]


def run_agent(repo: Path, script: list[ScriptedReply], window: int) -> list[dict]:
    """The requests the model received when the agent kept under `window` tokens."""
    with ScriptedLLMServer(script) as server:
        env = {**os.environ, "DGM_MODEL": "openai/scripted", "OPENAI_BASE_URL": server.url,
               "OPENAI_API_KEY": "benchmark", "DGM_ACTION_FORMAT": "tools", "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "agent", "solve", "--repo", str(repo), "--issue", str(repo / "ISSUE.md"),
                        "--patch-out", os.devnull, "--context-window", str(window)],
                       env=env, check=True, capture_output=True, timeout=1800)
        return list(server.requests)


def prices(requests: list[dict], model: str) -> dict[str, float]:
    import litellm

    info = litellm.model_cost[model]
    price, read, write = (info["input_cost_per_token"], info.get("cache_read_input_token_cost", 0.0),
                          info.get("cache_creation_input_token_cost", info["input_cost_per_token"]))
    counted = [litellm.token_counter(model=model, messages=r["messages"], tools=r.get("tools")) for r in requests]
    cached_dollars, previous = 0.0, []
    for request, tokens in zip(requests, counted):
        same = next((i for i, (a, b) in enumerate(zip(previous, request["messages"])) if a != b),
                    min(len(previous), len(request["messages"])))
        hit = litellm.token_counter(model=model, messages=request["messages"][:same], tools=request.get("tools")) \
            if same else 0
        cached_dollars += hit * read + (tokens - hit) * write
        previous = request["messages"]
    return {"tokens": sum(counted), "max": max(counted), "dollars": sum(counted) * price, "cached": cached_dollars}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="claude-sonnet-4-5", help="a model in litellm's price map")
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--windows", type=int, nargs="+", default=[32_000, 64_000])
    args = parser.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    table = Table(title=f"seed agent, {args.calls} tool calls, priced as {args.model}")
    for column in ("context", "prompt tokens per task", "largest prompt", "$ per task", "$ with prompt cache"):
        table.add_column(column, justify="right")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp, "repo")
        for part in ("dgm", "tools"):
            shutil.copytree(ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (repo / "ISSUE.md").write_text("The gateway's retries ignore Retry-After.")
        subprocess.run("git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm base",
                       shell=True, cwd=repo, check=True)
        script = trajectory(repo, args.calls)
        for window in [NO_ELISION, *args.windows]:
            measured = prices(run_agent(repo, script, window), args.model)
            label = "no elision" if window == NO_ELISION else f"elided to a {window // 1000}k window"
            table.add_row(label, f"{measured['tokens']:,}", f"{measured['max']:,}", f"{measured['dollars']:.2f}",
                          f"{measured['cached']:.2f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()

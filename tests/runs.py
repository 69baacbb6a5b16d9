"""Helpers for tests that drive whole runs through the `dgm` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def dgm(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dgm", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})


def run_config(path: Path, suite: Path, model_url: str, extra: str = "", model: str = "", **run: object) -> Path:
    """A run config on `suite` with the scripted model at `model_url`; `run` overrides [run] knobs,
    `model` adds [model] lines, `extra` adds whole tables."""
    settings = {"max_steps": 8, "children_per_step": 1, "parallel_evaluations": 2, "max_cost": 100.0, **run}
    path.write_text(
        "[run]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items())
        + f'[model]\nname = "openai/scripted"\napi_base = "{model_url}"\n'
        + "input_price_per_mtok = 1.0\noutput_price_per_mtok = 1.0\n" + model
        + f'[evaluation]\nsuite = "{suite}"\nstage_sizes = [2, 4]\nstage_thresholds = [0.4]\n'
        + "[agent]\nmax_steps = 4\ntimeout = 300.0\n" + extra
    )
    return path


def one_task_run(suite: str, tasks: list, tmp_path: Path) -> subprocess.CompletedProcess:
    """A one-step run with the scripted world, one task per variant: the seed fails it, the child
    that learned the world's lesson resolves it."""
    from dgm.scripted_llm import ScriptedLLMServer
    from tests.scripted_world import ScriptedWorld

    with ScriptedLLMServer(ScriptedWorld(tasks)) as server:
        config = run_config(tmp_path / "dgm.toml", suite, server.url, max_steps=1)
        return dgm("run", "--config", str(config), "--run-dir", str(tmp_path / "run"), "--set",
                   "evaluation.stage_sizes=[1]", "--set", "evaluation.stage_thresholds=[]",
                   "--set", "evaluation.full_suite_for_best=false")

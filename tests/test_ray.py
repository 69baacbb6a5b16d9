"""Evaluations through Ray (a local instance on this machine): a short evolution whose evaluations
are Ray tasks, and a worker killed mid-task whose task is retried and recorded once. Needs the
`ray` extra; without it these tests fail at import."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import ray  # the extra must be installed: fail loudly, never skip

from archive.check import check_run
from archive.db import RunDB
from dgm.evaluation import EvalJob, EvalResult
from dgm.ray_executor import RayExecutor
from sandbox.container import Limits
from tests.runs import dgm, run_config

GENOME = Path(__file__).resolve().parent.parent


def test_a_short_evolution_evaluates_through_ray(model_url, small_suite, tmp_path):
    """With a gateway address the nodes reach the model through a TCP relay, as on a cluster where
    they cannot see the gateway's socket; the child that learned its lesson resolves tasks only if
    its agent's calls got through."""
    run_dir = tmp_path / "run"
    extra = '[executor]\nkind = "ray"\ngateway_address = "127.0.0.1:0"\n'
    config = run_config(tmp_path / "dgm.toml", small_suite, model_url, extra=extra, max_steps=2)
    result = dgm("run", "--config", str(config), "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert check_run(run_dir) == []
    db = RunDB(run_dir / "run.db")
    done = [(v, t) for v, t, _stage, status, _ in db.evaluation_rows() if status == "done"]
    assert len(done) >= 4 and len(done) == len(set(done))
    assert any(resolved for v, _t, _stage, status, resolved in db.evaluation_rows() if v != "seed")
    # the logs a node wrote came back into the run directory
    logs = [run_dir / "logs" / v / t for v, t in done]
    missing = [d for d in logs if not (d / "grade" / "outcomes.json").exists()]
    assert not missing, [(d / "harness_error.txt").read_text()[-2000:] if (d / "harness_error.txt").exists() else d
                         for d in missing]


def _workers_running(name: str) -> list[int]:
    """Pids of Ray workers whose process title says they run `name`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"ray::{name}" in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_a_worker_killed_mid_task_is_retried_and_gives_one_result(pyfix, pyfix_image, tmp_path):
    # a bug the repair policy fixes in seconds, so the retry is quick
    task = next(t for t in pyfix.tasks() if t.repo == "cachetools" and t.difficulty == "one-token"
                and t.split == "train")
    executor = RayExecutor("", workers=1)
    assert ray.is_initialized()
    try:
        job = EvalJob("seed", task, pyfix, pyfix_image, GENOME, tmp_path / "logs", Limits(timeout=300),
                      env={"DGM_POLICY": "repair"})
        future = executor.submit(job)
        deadline = time.monotonic() + 120
        while not (pids := _workers_running("evaluate_on_node")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pids, "no Ray worker picked up the task"
        time.sleep(2)  # inside the task: its agent container is running
        os.kill(pids[0], signal.SIGKILL)
        result = future.result(timeout=600)
    finally:
        executor.close(cancel=False)
    assert isinstance(result, EvalResult) and result.task_id == task.instance_id
    assert result.resolved, result.reason  # the retry ran the whole task again, to the end
    assert (tmp_path / "logs" / "grade" / "outcomes.json").exists()
    assert pids[0] not in _workers_running("evaluate_on_node")

"""Whole evolution runs through `dgm run` / `dgm resume` with the scripted model: a diagnosed
weakness fixed by a child that outscores its parent, a child editing outside the genome rejected,
a near-duplicate child rejected before evaluation, a budget stop, GI children, and SIGKILL (and
once SIGTERM) at random moments with nothing finished lost or run twice."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import docker
import pytest

from archive.check import check_run
from archive.db import RunDB
from tests.runs import dgm, run_config
from tests.scripted_world import LESSON


def test_a_diagnosed_weakness_is_fixed_by_a_child_that_outscores_its_parent(evolved_run, small_suite):
    run_dir, result = evolved_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "archive check passed" in result.stdout
    assert check_run(run_dir) == []

    rows = {row.id: row for row in RunDB(run_dir / "run.db").variants()}
    assert max(row.step for row in rows.values()) == 8
    assert all(row.status in ("admitted", "failed") for row in rows.values())
    improved = [row for row in rows.values() if row.status == "admitted" and row.parent_id
                and LESSON in row.diagnosis and "agent/prompts/system.md" in row.diff
                and rows[row.parent_id].score is not None and row.score > rows[row.parent_id].score]
    assert improved, {r.id: (r.status, r.score, r.fail_reason) for r in rows.values()}
    assert any(row.status == "failed" and "outside the genome" in row.fail_reason and "conftest.py" in row.fail_reason
               for row in rows.values())
    # a repeated diagnosis made a child that repeats its sibling's change: rejected, never evaluated
    repeats = [row for row in rows.values() if row.fail_reason == "near-duplicate of a sibling's change"]
    assert repeats and all(row.stage == 0 and row.score is None for row in repeats)
    # the diagnosis saw the parent's failure, never a held-out task
    heldout = {json.loads(line)["instance_id"] for line in (small_suite / "tasks.jsonl").read_text().splitlines()
               if json.loads(line).get("split") == "heldout"}
    assert all(row.diagnosis_task not in heldout for row in rows.values())
    assert any(row.heldout_score is not None for row in rows.values())

    status = dgm("status", str(run_dir))
    assert status.returncode == 0 and "finished" in status.stdout and "step 8/8" in status.stdout
    checked = dgm("check", str(run_dir))
    assert checked.returncode == 0 and "agree" in checked.stdout
    tree = dgm("tree", str(run_dir))
    assert tree.returncode == 0 and "★ best" in tree.stdout and improved[0].id in tree.stdout


def test_a_budget_stop_ends_the_run_with_its_cost_recorded(model_url, small_suite, tmp_path):
    run_dir = tmp_path / "run"
    config = run_config(tmp_path / "dgm.toml", small_suite, model_url, max_cost=0.03)
    result = dgm("run", "--config", str(config), "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "max cost reached" in result.stdout
    db = RunDB(run_dir / "run.db")
    assert db.meta("state").startswith("stopped: max cost reached")
    calls = [json.loads(line) for line in (run_dir / "llm_calls.jsonl").read_text().splitlines()]
    spent = sum(call.get("cost") or 0.0 for call in calls)
    # every call was reserved at its worst case: the budget is never passed, and every call's cost is in the database
    assert 0 < spent <= 0.03 and db.total_cost() == pytest.approx(spent)
    assert len(calls) < 40
    assert check_run(run_dir) == []
    assert "max cost" in dgm("status", str(run_dir)).stdout


def _done(run_dir: Path) -> dict[tuple[str, str], tuple]:
    with sqlite3.connect(run_dir / "run.db") as conn:
        rows = conn.execute("SELECT variant_id, task_id, resolved, finished FROM evaluations WHERE status = 'done'")
        return {(v, t): (resolved, finished) for v, t, resolved, finished in rows}


def _calls(run_dir: Path) -> Counter:
    log = run_dir / "llm_calls.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return Counter((record["variant"], record["task"]) for line in lines if (record := _json(line)))


def _json(line: str) -> dict | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None  # a line cut short by the kill


def _wait_for_progress(run_dir: Path, done_before: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until one more evaluation has finished, so every cycle moves the run on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if (run_dir / "run.db").exists() and len(_done(run_dir)) > done_before:
            return
        time.sleep(0.5)


def test_sigkill_at_random_moments_loses_and_repeats_nothing(model_url, small_suite, tmp_path):
    run_dir = tmp_path / "run"
    config = run_config(tmp_path / "dgm.toml", small_suite, model_url, max_steps=2)
    rng = random.Random(7)
    finished: dict[tuple[str, str], tuple] = {}
    calls_then: Counter = Counter()
    killed_pids = []
    command = ["run", "--config", str(config), "--run-dir", str(run_dir)]
    for cycle in range(4):
        proc = subprocess.Popen([sys.executable, "-m", "dgm", *command], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        _wait_for_progress(run_dir, len(finished), proc)
        time.sleep(rng.uniform(0, 6))  # then kill at a random moment of what follows
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was killed: {proc.stderr.read()[-2000:]}")
        if cycle == 1:  # once, the way Ctrl-C or a scheduler stops it: a clean stop
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 130
            assert not _containers_of(proc.pid)
        else:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed_pids.append(proc.pid)
        done = _done(run_dir)
        assert all(done.get(key) == value for key, value in finished.items()), "a finished evaluation changed"
        finished = done
        calls_then = _calls(run_dir)
        command = ["resume", str(run_dir)]
    result = dgm(*command)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    final = _done(run_dir)
    assert all(final[key] == value for key, value in finished.items())  # none lost, none re-recorded
    calls_now = _calls(run_dir)
    assert all(calls_now[key] == calls_then[key] for key in finished)  # none run again
    assert check_run(run_dir) == []
    rows = RunDB(run_dir / "run.db").variants()
    assert max(row.step for row in rows) == 2 and all(row.status in ("admitted", "failed") for row in rows)
    # the killed processes' containers were reaped by the runs that followed
    assert not any(_containers_of(pid) for pid in killed_pids)


def _containers_of(pid: int) -> list[str]:
    """Containers whose owner label (host:pid:start time) names process `pid`."""
    return [c.name for c in docker.from_env().containers.list(all=True, ignore_removed=True)
            if c.labels.get("dgm.owner", "").count(":") == 2 and c.labels["dgm.owner"].split(":")[1] == str(pid)]


def test_gi_children_parse_and_are_committed_or_rejected_with_a_reason(model_url, small_suite, tmp_path):
    from archive.genome_repo import GenomeRepo

    run_dir = tmp_path / "run"
    config = run_config(tmp_path / "dgm.toml", small_suite, model_url, extra='[mutation]\nkind = "gi"\n',
                        max_steps=2, children_per_step=2)
    result = dgm("run", "--config", str(config), "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    children = [row for row in RunDB(run_dir / "run.db").variants() if row.parent_id]
    assert len(children) == 4 and all(row.diff and row.summary for row in children)
    committed = [row for row in children if row.commit_sha]
    assert committed, [row.fail_reason for row in children]
    repo = GenomeRepo(run_dir / "genome.git")
    for row in committed:
        genome = repo.checkout(row.commit_sha, tmp_path / row.id)
        for path in genome.rglob("*.py"):
            compile(path.read_text(), str(path), "exec")  # every GI child parses
    assert all(row.status == "admitted" or (row.status == "failed" and row.fail_reason) for row in children)
    assert check_run(run_dir) == []

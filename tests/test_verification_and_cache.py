"""Evolution that spends well, through whole `dgm run`s with the scripted model: an empty
diagnosis is asked again and then fails its child; a child that does not fix the task it was
diagnosed from is stopped before stage 0 (and `dgm status`/`show` say what that saved); a
child's scratch file outside the genome is dropped from its commit, not a reason to reject it; a
second run on the same suite reuses the seed's evaluations from the cache without starting a
container, and with verification off its child goes straight to stage 0; `--no-cache` evaluates
afresh; an older run.db gains the cache column when opened."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time

import docker

from archive.check import check_run
from archive.db import VERIFICATION_STAGE, RunDB
from archive.genome_repo import GenomeRepo
from dgm.scripted_llm import ScriptedLLMServer
from sandbox.engine import OWNER_LABEL, RUN_LABEL, owner_id
from tests.runs import dgm, run_config
from tests.scripted_world import LESSON, Diagnoses

USELESS = "SUMMARY: the agent is terse\nISSUE:\nAPPEND agent/prompts/system.md: Be polite to the user."
# the change that helps, and a scratch script at the genome's root as real models leave one
HELPFUL = (f"SUMMARY: the agent edits before reproducing the failure\nISSUE:\nAPPEND agent/prompts/system.md: {LESSON}.\n"
           "CREATE reproduce.py: print('scratch')")


def _world(small_suite, answers: list[str]) -> Diagnoses:
    from benchmarks.suite import load_suite

    return Diagnoses(load_suite(str(small_suite)).tasks(), answers)


def _config(tmp_path, small_suite, url: str, cache, max_steps: int):
    config = run_config(tmp_path / "dgm.toml", small_suite, url, max_steps=max_steps)
    config.write_text(config.read_text().replace(
        "[evaluation]\n", f'[evaluation]\ncache_dir = "{cache}"\nverify_tries = 2\n'))
    return config


def _evaluations(run_dir) -> list[tuple]:
    with sqlite3.connect(run_dir / "run.db") as conn:
        return conn.execute("SELECT variant_id, task_id, stage, status, resolved, reused FROM evaluations").fetchall()


def _containers_started(owner: str, since: float) -> list[str]:
    """The run labels of every container that the process `owner` created since `since`."""
    client = docker.from_env()
    events = client.events(since=int(since) - 1, until=int(time.time()) + 1, decode=True,
                           filters={"type": "container", "event": "create", "label": f"{OWNER_LABEL}={owner}"})
    return [event["Actor"]["Attributes"].get(RUN_LABEL, "") for event in events]


def test_verification_stops_a_child_that_does_not_fix_its_task_and_the_cache_spares_the_seed(small_suite, tmp_path):
    cache = tmp_path / "cache"
    world = _world(small_suite, ["", "", USELESS, HELPFUL])
    with ScriptedLLMServer(world) as server:
        config = _config(tmp_path, small_suite, server.url, cache, max_steps=3)
        first = dgm("run", "--config", str(config), "--run-dir", str(tmp_path / "run1"))
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    run1 = tmp_path / "run1"
    assert check_run(run1) == []
    rows = {row.id: row for row in RunDB(run1 / "run.db").variants()}
    evaluations = _evaluations(run1)

    # the empty diagnosis was asked twice, then failed its child before any self-modification
    assert "unusable twice" in rows["v1-1"].fail_reason and rows["v1-1"].commit_sha is None
    assert world.prompts[0] == world.prompts[1]  # the same question, asked again
    assert "# The grading's test output" in world.prompts[0] and "## agent/prompts/system.md" in world.prompts[0]
    assert "(the agent's patch was empty)" in world.prompts[0]  # the seed submits no change
    # the diagnosis has room for a reasoning model's thinking (model.max_tokens_diagnose, 16k)
    assert [r.get("max_tokens") for r in world.requests] == [16384] * len(world.requests)

    # the useless child tried its diagnosed task twice, never resolved it, and never reached stage 0
    useless = rows["v2-1"]
    assert useless.status == "failed" and useless.fail_reason.startswith("failed verification"), useless.fail_reason
    tried = sorted((task, stage, resolved) for v, task, stage, _s, resolved, _r in evaluations if v == "v2-1")
    assert tried == [(f"{useless.diagnosis_task}@verify{n}", VERIFICATION_STAGE, 0) for n in (1, 2)]
    assert useless.score is None and useless.stage == 0

    # the helpful child resolved its task at the first try and went on to be scored
    helpful = rows["v3-1"]
    assert helpful.status == "admitted" and helpful.score == 1.0
    verified = [(task, resolved) for v, task, stage, _s, resolved, _r in evaluations if v == "v3-1" and stage == VERIFICATION_STAGE]
    assert verified == [(f"{helpful.diagnosis_task}@verify1", 1)]
    assert f"{helpful.diagnosis_task}@verify1" not in RunDB(run1 / "run.db").results("v3-1")  # never a result
    # its scratch reproduce.py was dropped from its commit, said so in its log, and did not reject it
    assert "reproduce.py" in helpful.diff
    assert (run1 / "logs" / "v3-1" / "self_modify" / "dropped_paths.txt").read_text() == "reproduce.py\n"
    committed = GenomeRepo(run1 / "genome.git").repo.git.ls_tree("-r", "--name-only", helpful.commit_sha).split()
    assert "reproduce.py" not in committed and "agent/prompts/system.md" in committed
    assert "left out of its commit (outside the genome): reproduce.py" in first.stdout

    status = dgm("status", str(run1))
    assert "verification: 1 child(ren) stopped before stage 0, 2 stage-0 evaluation(s) saved, 3 verification" in status.stdout
    shown = dgm("show", str(run1), "v2-1")
    assert "try 1 not resolved, try 2 not resolved; 2 stage-0 evaluation(s) saved" in shown.stdout

    # a second run on the same suite takes the seed's evaluations from the cache: no container for
    # them; with verification switched off its child goes straight to stage 0
    seed_done = {task: resolved for v, task, stage, status, resolved, _r in evaluations if v == "seed" and status == "done"}
    assert seed_done and all(r == 0 for v, *_, r in evaluations)  # nothing was reused in the first run
    with ScriptedLLMServer(_world(small_suite, [USELESS])) as server:
        config = _config(tmp_path, small_suite, server.url, cache, max_steps=1)
        started = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "dgm", "run", "--config", str(config), "--set",
                                 "evaluation.verify_tries=0", "--run-dir", str(tmp_path / "run2")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        owner = owner_id(proc.pid)
        out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    said = re.findall(r"seed: (\d+) evaluation\(s\) reused from the evaluation cache, no container started", out)
    assert sum(map(int, said)) == len(seed_done), out[-3000:]  # the run's output says what it reused
    run2 = tmp_path / "run2"
    reused = {task: (resolved, r) for v, task, stage, status, resolved, r in _evaluations(run2) if v == "seed"}
    assert reused == {task: (resolved, 1) for task, resolved in seed_done.items()}
    labels = _containers_started(owner, started)
    assert not [label for label in labels if label in ("eval-seed", "grade-seed")], labels
    calls = (run2 / "llm_calls.jsonl").read_text().splitlines() if (run2 / "llm_calls.jsonl").exists() else []
    assert not [c for c in calls if json.loads(c).get("variant") == "seed"]  # no agent ran for the seed
    task = next(iter(seed_done))
    assert (run2 / "logs" / "seed" / task / "agent" / "out" / "trajectory.jsonl").exists()  # the logs came along
    child = RunDB(run2 / "run.db").variant("v1-1")
    assert child.diagnosis_task and child.status == "admitted", child.fail_reason
    assert sorted(stage for v, _t, stage, *_ in _evaluations(run2) if v == "v1-1") == [0, 0]  # no try: stage 0
    assert check_run(run2) == []
    assert f"evaluation cache: {len(seed_done)} evaluation(s) reused" in dgm("status", str(run2)).stdout
    assert "reused from the cache" in dgm("show", str(run2), "seed").stdout

    # --no-cache evaluates the seed afresh
    with ScriptedLLMServer(_world(small_suite, [""])) as server:
        config = _config(tmp_path, small_suite, server.url, cache, max_steps=0)
        third = dgm("run", "--no-cache", "--config", str(config), "--run-dir", str(tmp_path / "run3"))
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    fresh = [(r, status) for v, _t, _s, status, _res, r in _evaluations(tmp_path / "run3") if v == "seed"]
    assert fresh and all(r == 0 and status == "done" for r, status in fresh)
    assert "cache = false" in (tmp_path / "run3" / "config.toml").read_text()


def test_an_older_run_database_gains_the_reused_column(tmp_path):
    path = tmp_path / "run.db"
    with sqlite3.connect(path) as conn:  # the version-1 schema as it was before the cache
        conn.executescript("""
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('schema_version', '1');
            CREATE TABLE evaluations (variant_id TEXT NOT NULL, task_id TEXT NOT NULL, stage INTEGER NOT NULL,
                status TEXT NOT NULL, resolved INTEGER, duration REAL, cost REAL NOT NULL DEFAULT 0,
                agent_exit TEXT NOT NULL DEFAULT '', log_dir TEXT NOT NULL DEFAULT '', finished REAL,
                PRIMARY KEY (variant_id, task_id));
            INSERT INTO evaluations (variant_id, task_id, stage, status, resolved) VALUES ('seed', 't1', 0, 'done', 1);
        """)
    db = RunDB(path)
    assert db.results("seed") == {"t1": True} and db.reused_evaluations() == set()
    db.plan_evaluations("seed", ["t2"], 0)
    db.finish_evaluation("seed", "t2", False, 1.0, 0.0, "submitted", "", reused=True)
    assert db.reused_evaluations() == {("seed", "t2")}

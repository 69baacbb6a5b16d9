"""A run directory written through the run's own stores (RunDB, GenomeRepo, the call log), with as
many variants as a test needs: what a long model-driven run leaves, without running one."""

from __future__ import annotations

import json
import random
from pathlib import Path

from archive.db import VERIFICATION_STAGE, RunDB
from archive.genome_repo import GenomeRepo
from dgm.config import Config, ModelConfig, RunConfig, to_toml
from dgm.eval_record import write_result
from dgm.evaluation import EvalResult
from dgm.verification import try_key

SEED_SOURCE = Path(__file__).resolve().parent.parent


def generated_run(path: Path, variants: int, tasks: int = 30, seed: int = 0, budget: float = 25.0) -> Path:
    """`variants` variants in a random lineage: a seed, admitted children with stage scores, failed
    children with reasons, evaluations with exits and verdicts, costs and a priced call log."""
    rng = random.Random(seed)
    path.mkdir(parents=True)
    config = Config(run=RunConfig(max_cost=budget), model=ModelConfig(name="openai/generated"))
    (path / "config.toml").write_text(to_toml(config))
    _, seed_sha = GenomeRepo.create(path / "genome.git", SEED_SOURCE)
    db = RunDB(path / "run.db", create=True)
    names = [f"proj__task-{i:03d}" for i in range(tasks)]
    difficulty = {t: rng.random() for t in names}
    stage_tasks = [names[:10], names[:tasks]]
    heldout = [f"proj__held-{i}" for i in range(4)]
    db.add_variant("seed", None, 0, "committed", seed_sha)
    admitted = ["seed"]
    skill = {"seed": 0.3}
    clock = 1_700_000_000.0
    calls = []
    for i in range(1, variants):
        step = 1 + (i - 1) // 2
        vid = f"v{step}-{1 + (i - 1) % 2}"
        parent = rng.choice(admitted[-20:])
        db.add_variant(vid, parent, step)
        diff = (f"diff --git a/agent/loop.py b/agent/loop.py\n--- a/agent/loop.py\n+++ b/agent/loop.py\n"
                f"@@ -{i},3 +{i},3 @@\n def solve():\n-    limit = {i}\n+    limit = {i + 1}  # retry more\n"
                f"     return 'done'\n")
        clock += 60
        calls.append({"time": clock, "variant": vid, "task": "diagnose", "prompt_tokens": 9000,
                      "completion_tokens": 800, "cost": 0.02})
        calls.append({"time": clock + 20, "variant": vid, "task": "self_modify", "prompt_tokens": 40000,
                      "completion_tokens": 3000, "cached_tokens": 30000, "cost": 0.05})
        db.add_cost(vid, "diagnose", 0.02)
        db.add_cost(vid, "self_modify", 0.05)
        if rng.random() < 0.25:
            db.update_variant(vid, status="failed", diff=diff, summary=f"change {i}",
                              fail_reason=rng.choice(["empty diff", "near-duplicate of a sibling's change",
                                                      "failed verification on proj__task-001"]))
            continue
        diagnosed = rng.choice(names)
        db.plan_evaluations(vid, [try_key(diagnosed, 1)], VERIFICATION_STAGE)
        db.start_evaluation(vid, try_key(diagnosed, 1))
        db.finish_evaluation(vid, try_key(diagnosed, 1), True, 60.0, 0.03, "submitted", "")
        calls.append({"time": clock + 40, "variant": vid, "task": try_key(diagnosed, 1), "prompt_tokens": 20000,
                      "completion_tokens": 1500, "cost": 0.03})
        skill[vid] = max(0.0, min(1.0, skill[parent] + rng.uniform(-0.15, 0.2)))
        db.update_variant(vid, diff=diff, summary=f"change {i}", diagnosis=f"The agent gives up too early ({i}).",
                          diagnosis_task=diagnosed, commit_sha=seed_sha)
        stage, results = 0, {}
        for s, wanted in enumerate(stage_tasks):
            db.plan_evaluations(vid, wanted, s)
            for t in (t for t in wanted if t not in results):  # a stage holds the ones before it
                resolved = difficulty[t] < skill[vid]
                log = path / "logs" / vid / t
                log.mkdir(parents=True, exist_ok=True)
                result = EvalResult(vid, t, resolved, "resolved" if resolved else
                                    f"1 FAIL_TO_PASS test(s) not passing, e.g. {t}::test",
                                    rng.choice(["submitted", "submitted", "step_limit"]), rng.uniform(20, 200))
                write_result(log, result)
                db.start_evaluation(vid, t)
                db.finish_evaluation(vid, t, resolved, result.duration, 0.03, result.agent_exit, str(log))
                clock += 5
                calls.append({"time": clock, "variant": vid, "task": t, "prompt_tokens": 20000,
                              "completion_tokens": 1500, "cost": 0.03})
                results[t] = resolved
            score = sum(results[t] for t in wanted) / len(wanted)
            stage = s + 1
            db.update_variant(vid, score=score, stage=stage)
            if score <= 0.4:
                break
        if stage == len(stage_tasks):
            db.plan_evaluations(vid, heldout, -1)
            for t in heldout:
                db.start_evaluation(vid, t)
                db.finish_evaluation(vid, t, rng.random() < skill[vid], 50.0, 0.0, "submitted", "")
            db.update_variant(vid, heldout_score=rng.random() * skill[vid])
        db.update_variant(vid, status="admitted", novelty=rng.random())
        admitted.append(vid)
    db.update_variant("seed", status="admitted", score=0.3, stage=1)
    db.set_meta("state", "finished")
    db.set_meta("stage0_size", len(stage_tasks[0]))
    db.set_meta("stage_sizes", [len(stage) for stage in stage_tasks])  # as the engine records its plan
    (path / "llm_calls.jsonl").write_text("".join(json.dumps(c) + "\n" for c in calls))
    return path

"""Evaluations per child with and without post-mutation verification, measured on the bundled
suite with the scripted world (tests/scripted_world.py) through real `dgm run`s: of every three
diagnoses two ask for a change that does not help and one for the change that does, as most real
children do not beat their parent. Both runs share one evaluation cache, so the seed is evaluated
once; the figures count the children's evaluations only, verification tries included.

    python -m benchmarks.perf.verification --steps 3 --stage-size 5
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.suite import load_suite
from dgm.scripted_llm import ScriptedLLMServer
from tests.scripted_world import LESSON, Diagnoses

USELESS = ["the agent is terse", "Be polite to the user.", "the agent never greets", "Say hello before working.",
           "the agent hides its plan", "State your plan in one line first."]


def _answers(steps: int) -> list[str]:
    answers = []
    for step in range(steps):
        if step % 3 == 2:
            answers.append(f"SUMMARY: the agent edits before reproducing the failure\nISSUE:\n"
                           f"APPEND agent/prompts/system.md: {LESSON} (lesson {step}).")
        else:
            summary, line = USELESS[(2 * step) % len(USELESS)], USELESS[(2 * step + 1) % len(USELESS)]
            answers.append(f"SUMMARY: {summary}\nISSUE:\nAPPEND agent/prompts/system.md: {line} (note {step})")
    return answers


def _run(root: Path, verify_tries: int, steps: int, stage_size: int, cache: Path) -> dict[str, float]:
    world = Diagnoses(load_suite("pyfix").tasks(), _answers(steps))
    with ScriptedLLMServer(world) as server:
        config = root / f"verify{verify_tries}.toml"
        config.write_text(
            f"[run]\nmax_steps = {steps}\nchildren_per_step = 1\nparallel_evaluations = 2\nmax_cost = 100.0\n"
            f'[model]\nname = "openai/scripted"\napi_base = "{server.url}"\n'
            "input_price_per_mtok = 1.0\noutput_price_per_mtok = 1.0\n"
            f'[evaluation]\nsuite = "pyfix"\nstage_sizes = [{stage_size}]\nstage_thresholds = []\n'
            f'full_suite_for_best = false\nheldout_size = 1\nverify_tries = {verify_tries}\ncache_dir = "{cache}"\n'
            "[agent]\nmax_steps = 4\ntimeout = 300.0\n")
        run_dir = root / f"run-verify{verify_tries}"
        done = subprocess.run([sys.executable, "-m", "dgm", "run", "--config", str(config), "--run-dir", str(run_dir)],
                              capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    if done.returncode:
        raise SystemExit(f"dgm run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    with sqlite3.connect(run_dir / "run.db") as db:
        children = db.execute("SELECT id, status, score FROM variants WHERE parent_id IS NOT NULL").fetchall()
        evaluations = dict(db.execute("SELECT variant_id, COUNT(*) FROM evaluations WHERE status = 'done' "
                                      "AND variant_id != 'seed' GROUP BY variant_id").fetchall())
    helped = {c for c, _status, score in children if score == 1.0}
    admitted = sum(status == "admitted" for _c, status, _s in children)
    total = sum(evaluations.values())
    wasted = sum(n for c, n in evaluations.items() if c not in helped)
    return {"children": len(children), "admitted": admitted, "helped": len(helped), "evaluations": total,
            "per child": total / max(len(children), 1), "per admitted child": total / max(admitted, 1),
            "per child that did not help": wasted / max(len(children) - len(helped), 1),
            "per child that helped (all evaluations)": total / max(len(helped), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="children, one per step")
    parser.add_argument("--stage-size", type=int, default=5, help="tasks in stage 0")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dgm-perf-verify-") as tmp:
        root = Path(tmp)
        rows = {tries: _run(root, tries, args.steps, args.stage_size, root / "cache") for tries in (0, 2)}
    keys = list(rows[0])
    print("| verify_tries | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for tries, row in rows.items():
        print(f"| {tries} | " + " | ".join(f"{row[k]:.1f}" if isinstance(row[k], float) else str(row[k])
                                           for k in keys) + " |")


if __name__ == "__main__":
    main()

"""`dgm status --follow` keeps a running run's headline numbers (the report's) on screen and
returns once the run is no longer going."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from archive.db import RunDB, RunLock
from tests.generated_run import generated_run
from tests.runs import dgm


def test_status_follow_tracks_a_running_run_until_it_ends(tmp_path):
    run = generated_run(tmp_path / "run", 8)
    db = RunDB(run / "run.db")
    db.set_meta("state", "running")
    lock = RunLock(run).__enter__()  # a live owner: the run counts as going
    follow = subprocess.Popen([sys.executable, "-m", "dgm", "status", str(run), "--follow", "--interval", "0.2"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "COLUMNS": "200"})
    time.sleep(3)
    assert follow.poll() is None, follow.communicate()  # still following
    admitted = sum(r.status == "admitted" for r in db.variants())
    db.add_variant("v99-1", "seed", 99, "admitted")  # the run goes on: one more variant ...
    db.set_meta("state", "finished")  # ... then it ends
    lock.__exit__()
    out, err = follow.communicate(timeout=60)
    assert follow.returncode == 0, err
    assert f"{run}: finished" in out
    assert f"archive {admitted + 1} " in out  # the numbers it left on screen are the last ones


def test_status_shows_the_reports_headline_numbers(tmp_path):
    run = generated_run(tmp_path / "run", 40, seed=5)
    assert dgm("report", str(run), "--json").returncode == 0
    data = json.loads((run / "report.json").read_text())
    status = dgm("status", str(run), "--follow", "--interval", "0.2")  # a finished run: shown once
    assert status.returncode == 0, status.stderr
    best = next(v for v in data["variants"] if v["id"] == data["best"])
    done = sum(e["status"] == "done" for e in data["evaluations"])
    spent = sum(c["total"] for c in data["costs"].values())
    assert f"best {best['score']:.2f} ({best['id']}, stage {best['stage']})" in status.stdout
    assert f"cost ${spent:.4f} of $25" in status.stdout
    assert f"{done} evaluations, {data['saved_by_early_stops']} saved by early stops" in status.stdout
    # no variant of this run got past stage 1, so no evaluation shows stage 2's size: the count
    # comes from the stages the run planned (recorded in run.db), not from the tasks seen
    assert max(v["stage"] for v in data["variants"]) == 1 and data["saved_by_early_stops"] == 20 * sum(
        v["status"] == "admitted" for v in data["variants"])
    assert f"{data['saved_by_verification']} stage-0 evaluation(s) saved" in status.stdout
    html = (run / "report.html").read_text()  # the page's headline says the same
    assert f"{done} evaluations, {data['saved_by_early_stops']} saved by early stops, " \
           f"{data['saved_by_verification']} by verification" in html

"""`dgm status --follow` keeps a running run's headline numbers on screen and returns once the
run is no longer going."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from archive.db import RunDB, RunLock
from tests.generated_run import generated_run


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

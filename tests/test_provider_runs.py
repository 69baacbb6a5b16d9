"""Whole `dgm run`s against a provider having a bad night: a failed diagnosis call fails its child
and the run goes on; a provider that keeps failing pauses the run, with nothing recorded, and
`dgm resume` carries on once it is back."""

from __future__ import annotations

import sqlite3

from archive.check import check_run
from archive.db import RunDB
from benchmarks.suite import load_suite
from dgm.scripted_llm import ScriptedLLMServer, context_window_exceeded, server_error
from tests.runs import dgm, run_config
from tests.scripted_world import ScriptedWorld

FAST_RETRIES = "retry_first_delay = 0.05\nretry_total_wait = 0.3\npause_after_failures = 2\n"


class FirstDiagnosisTooLong(ScriptedWorld):
    """The first diagnosis prompt is over the model's window (a 400, never retried)."""

    def _diagnose(self):
        with self._lock:
            first = self.diagnoses == 0
            self.diagnoses += first
        return context_window_exceeded() if first else super()._diagnose()


class Outage(ScriptedWorld):
    """Every agent call gets a 503 until `healthy` is set; diagnoses are not reached."""

    healthy = False

    def __call__(self, body):
        return super().__call__(body) if self.healthy else server_error(503)


class OneBadSpell(ScriptedWorld):
    """The agent's calls on one task get 503s until the gateway's retries give up, once; then the
    provider is fine."""

    def __init__(self, tasks, failures: int) -> None:
        super().__init__(tasks)
        self.unlucky = self.tasks[0].problem_statement.strip()
        self.failures = failures

    def __call__(self, body):
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        with self._lock:
            bad = self.failures > 0 and self.unlucky in user
            self.failures -= bad
        return server_error(503) if bad else super().__call__(body)


def _evaluations(run_dir) -> list[tuple]:
    with sqlite3.connect(run_dir / "run.db") as conn:
        return conn.execute("SELECT variant_id, task_id, status, resolved FROM evaluations").fetchall()


def test_a_400_on_the_diagnosis_fails_the_child_and_the_run_goes_on(small_suite, tmp_path):
    world = FirstDiagnosisTooLong(load_suite(str(small_suite)).tasks(), outside_genome_at=0)
    with ScriptedLLMServer(world) as provider:
        config = run_config(tmp_path / "dgm.toml", small_suite, provider.url, model=FAST_RETRIES, max_steps=2)
        result = dgm("run", "--config", str(config), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = {row.id: row for row in RunDB(tmp_path / "run" / "run.db").variants()}
    assert rows["v1-1"].status == "failed" and "model call failed" in rows["v1-1"].fail_reason
    assert "maximum context length" in rows["v1-1"].fail_reason
    assert rows["v2-1"].diagnosis and rows["v2-1"].status in ("admitted", "failed")
    assert "model call failed" not in (rows["v2-1"].fail_reason or "")
    assert check_run(tmp_path / "run") == []


def test_a_provider_outage_during_evaluation_pauses_the_run_and_records_nothing(small_suite, tmp_path):
    world = Outage(load_suite(str(small_suite)).tasks())
    run_dir = tmp_path / "run"
    with ScriptedLLMServer(world) as provider:
        config = run_config(tmp_path / "dgm.toml", small_suite, provider.url, model=FAST_RETRIES, max_steps=0)
        paused = dgm("run", "--config", str(config), "--run-dir", str(run_dir))
        assert paused.returncode == 0, paused.stdout[-3000:] + paused.stderr[-3000:]
        assert "paused: the provider failed" in paused.stdout and "dgm resume" in paused.stdout
        assert str(RunDB(run_dir / "run.db").meta("state")).startswith("stopped: paused")
        assert all(status != "done" for *_, status, _ in _evaluations(run_dir))  # no unresolved recorded
        assert "paused" in dgm("status", str(run_dir)).stdout

        world.healthy = True
        resumed = dgm("resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    done = [e for e in _evaluations(run_dir) if e[2] == "done"]
    assert {e[0] for e in done} == {"seed"} and len(done) >= 2
    assert check_run(run_dir) == []


def test_an_evaluation_lost_to_the_provider_runs_again_and_only_its_rerun_is_recorded(small_suite, tmp_path):
    tasks = load_suite(str(small_suite)).tasks()
    world = OneBadSpell(tasks, failures=3)  # the retries of one call (0.05 + 0.1 s of the 0.3 s allowed)
    run_dir = tmp_path / "run"
    with ScriptedLLMServer(world) as provider:
        config = run_config(tmp_path / "dgm.toml", small_suite, provider.url, model=FAST_RETRIES, max_steps=0)
        result = dgm("run", "--config", str(config), "--run-dir", str(run_dir))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert world.failures == 0 and "lost to the provider, running it again" in result.stdout
    assert "paused" not in result.stdout  # one bad spell is not an outage
    with sqlite3.connect(run_dir / "run.db") as conn:
        (exit_, status), = conn.execute("SELECT agent_exit, status FROM evaluations WHERE variant_id = 'seed' "
                                        "AND task_id = ?", (tasks[0].instance_id,)).fetchall()
        lost = conn.execute("SELECT cost FROM costs WHERE kind LIKE '%lost to the provider'").fetchall()
    assert status == "done" and exit_ != "provider_error"  # the rerun's result, not the provider's failure
    assert len(lost) == 1  # what the lost run spent stays spent
    assert check_run(run_dir) == []

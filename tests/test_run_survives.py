"""A run survives what a child, a crash or a damaged file leaves behind: a link in a genome fails
that child only, a lost or damaged database is one line (never re-created), `git gc` keeps every
variant, pruned commits are named, a suite error leaves no run directory, killed sessions' temp
directories go at the next start, and the smoke test a child must pass is the engine's."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from archive.check import check_run, hold_variants
from archive.db import RunDB
from archive.genome_repo import ChildRejected, GenomeRepo
from archive.novelty import MAX_DIFF_CHARS
from dgm.config import load_config
from dgm.engine import new_run
from dgm.run_cli import SEED_SOURCE
from dgm.workspace import PREFIX
from tests.runs import dgm


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """A run whose seed is admitted, so `dgm resume` goes straight to the children."""
    path = tmp_path / "run"
    new_run(path, load_config(None, {"run.max_steps": 1}), SEED_SOURCE)
    RunDB(path / "run.db").update_variant("seed", status="admitted", score=0.5)
    return path


def _commit_with_link(repo: GenomeRepo, parent: str, path: str, target: str) -> str:
    """A commit adding a symbolic link, made with git's plumbing as a hostile diff would."""
    index = Path(tempfile.mkdtemp(), "index")
    env = {"GIT_INDEX_FILE": str(index), "GIT_AUTHOR_NAME": "x", "GIT_AUTHOR_EMAIL": "x@x",
           "GIT_COMMITTER_NAME": "x", "GIT_COMMITTER_EMAIL": "x@x"}
    git = repo.repo.git
    git.read_tree(parent, env=env)
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], input=target, text=True, capture_output=True,
                          cwd=repo.path, check=True).stdout.strip()
    git.update_index("--add", "--cacheinfo", f"120000,{blob},{path}", env=env)
    return git.commit_tree(git.write_tree(env=env), "-p", parent, "-m", "link", env=env)


def _one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_a_symlink_in_a_genome_is_refused_at_checkout_and_written_nowhere(run_dir, tmp_path):
    repo = GenomeRepo(run_dir / "genome.git")
    seed = RunDB(run_dir / "run.db").variant("seed").commit_sha
    sha = _commit_with_link(repo, seed, "agent/x", "/etc/passwd")
    with pytest.raises(ChildRejected, match="holds agent/x: links and special files are not allowed"):
        repo.checkout(sha, tmp_path / "out")
    assert not (tmp_path / "out" / "agent" / "x").exists()


def test_a_symlink_in_a_childs_genome_fails_that_child_and_the_run_goes_on(run_dir):
    repo, db = GenomeRepo(run_dir / "genome.git"), RunDB(run_dir / "run.db")
    sha = _commit_with_link(repo, db.variant("seed").commit_sha, "agent/x", "/etc/passwd")
    db.add_variant("v1-1", "seed", 1, "committed", sha)
    for _ in range(2):  # and again on a second resume: nothing wedges
        result = dgm("resume", str(run_dir))
        assert result.returncode == 0, result.stderr
    child = db.variant("v1-1")
    assert child.status == "failed"
    assert "holds agent/x: links and special files are not allowed in a genome" in child.fail_reason


def _damage(db: Path, change: Callable[[bytes], bytes]) -> None:
    """`db`'s whole content, write-ahead log included, changed by `change`; no log is left that
    could stand in for it."""
    sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").connection.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(change(db.read_bytes()))


def test_a_child_diff_over_the_cap_fails_that_child(run_dir):
    db = RunDB(run_dir / "run.db")
    huge = _append_line("agent/smoke_test.py", (SEED_SOURCE / "agent" / "smoke_test.py").read_text(),
                        "# " + "x" * MAX_DIFF_CHARS)
    db.add_variant("v1-1", "seed", 1, "modified")
    db.update_variant("v1-1", diff=huge)
    result = dgm("resume", str(run_dir))
    assert result.returncode == 0, result.stderr
    child = db.variant("v1-1")
    assert (child.status, child.commit_sha) == ("failed", None)
    assert child.fail_reason == f"the child's diff is {len(huge)} characters, over the cap of {MAX_DIFF_CHARS}"


@pytest.mark.parametrize("command", ["status", "check", "resume"])
def test_a_zero_byte_run_db_is_an_error_and_is_never_recreated(run_dir, command):
    _damage(run_dir / "run.db", lambda data: b"")
    _one_line_error(dgm(command, str(run_dir)), "run.db is empty (0 bytes)")
    assert (run_dir / "run.db").stat().st_size == 0


@pytest.mark.parametrize("command", ["status", "check", "resume"])
def test_a_run_db_of_garbage_is_a_one_line_error(run_dir, command):
    _damage(run_dir / "run.db", lambda data: os.urandom(8192))
    _one_line_error(dgm(command, str(run_dir)), "run.db is damaged")


def test_a_run_db_with_damaged_pages_is_a_one_line_error(run_dir):
    db = run_dir / "run.db"
    RunDB(db).set_meta("padding", "x" * 20000)  # pages beyond the header to damage
    _damage(db, lambda data: data[:4096] + os.urandom(8192) + data[12288:])
    _one_line_error(dgm("status", str(run_dir)), "run.db is damaged")


def test_git_gc_prune_now_keeps_every_variant(run_dir):
    repo, db = GenomeRepo(run_dir / "genome.git"), RunDB(run_dir / "run.db")
    seed = db.variant("seed").commit_sha
    text = (SEED_SOURCE / "agent" / "smoke_test.py").read_text()
    child = repo.commit_child(seed, _append_line("agent/smoke_test.py", text, "# child"), "child").sha
    db.add_variant("v1-1", "seed", 1, "committed", child)
    hold_variants(db, repo)
    subprocess.run(["git", "gc", "--prune=now", "-q"], cwd=run_dir / "genome.git", check=True)
    assert repo.exists(seed) and repo.exists(child)
    assert check_run(run_dir) == []


def _append_line(path: str, text: str, line: str) -> str:
    last = text.splitlines()[-1]
    count = len(text.splitlines())
    return (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
            f"@@ -{count},1 +{count},2 @@\n {last}\n+{line}\n")


@pytest.mark.parametrize("command", ["status", "resume"])
def test_status_and_resume_name_the_variants_whose_commits_were_pruned(run_dir, command):
    db = RunDB(run_dir / "run.db")
    db.add_variant("v1-1", "seed", 1, "committed", "1" * 40)
    _one_line_error(dgm(command, str(run_dir)), "lacks the commits of variant(s) v1-1")
    assert any("v1-1 names commit 111111111111, which the repository lacks" in line
               for line in dgm("check", str(run_dir)).stdout.splitlines())


@pytest.mark.parametrize("existed", [False, True])
def test_a_suite_error_leaves_no_run_directory(tmp_path, existed):
    path = tmp_path / "run"
    if existed:
        path.mkdir()
    config = tmp_path / "c.toml"  # passes the config's checks; the suite fails to load in the engine
    (tmp_path / "not-a-suite").mkdir()
    config.write_text(f'[evaluation]\nsuite = "{tmp_path / "not-a-suite"}"\n')
    result = dgm("run", "--config", str(config), "--run-dir", str(path))
    assert result.returncode == 1, result
    assert result.stderr.startswith("error: no suite ") and len(result.stderr.strip().splitlines()) == 1, result
    assert list(path.iterdir()) == [] if existed else not path.exists()  # as it was before


WORKSPACE_HOLDER = """
import tempfile, threading
from dgm.workspace import run_workspace
with run_workspace() as path, tempfile.TemporaryDirectory(prefix="dgm-exec-") as other:
    print(path, flush=True)
    print(other, flush=True)
    threading.Event().wait()
"""


def test_temp_directories_of_killed_runs_are_removed_at_the_next_start():
    def holder() -> tuple[subprocess.Popen, Path]:
        proc = subprocess.Popen([sys.executable, "-c", WORKSPACE_HOLDER], stdout=subprocess.PIPE, text=True)
        path, other = Path(proc.stdout.readline().strip()), Path(proc.stdout.readline().strip())
        assert other.parent == path  # the session's other temporary directories are in its workspace
        return proc, path

    killed, dead_dir = holder()
    alive, live_dir = holder()
    try:
        assert dead_dir.name.startswith(PREFIX) and dead_dir.is_dir()
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        from dgm.workspace import run_workspace

        with run_workspace() as mine:
            assert mine.is_dir()
        assert not dead_dir.exists()
        assert live_dir.is_dir()  # a live session's directory stays
    finally:
        alive.kill()
        alive.wait()


def test_the_smoke_test_a_child_must_pass_is_the_engines_not_its_own(sandbox_image, tmp_path):
    from dgm.child_check import smoke_failure

    genome = tmp_path / "genome"
    for root in ("agent", "tools"):
        shutil.copytree(SEED_SOURCE / root, genome / root, ignore=shutil.ignore_patterns("__pycache__"))
    assert smoke_failure(genome, sandbox_image, "smoke-test") is None
    # a child that breaks its editor and rewrites its own smoke test to pass regardless
    (genome / "agent" / "smoke_test.py").write_text("print('smoke test passed')\n")
    editor = genome / "agent" / "actions.py"
    editor.write_text(editor.read_text() + "\nActions.run = lambda self, name, args: 'broken'\n")
    failure = smoke_failure(genome, sandbox_image, "smoke-test")
    assert failure is not None and "smoke test failed" in failure


def test_diagnosis_writes_nothing_through_a_link_planted_in_the_temp_directory(tmp_path, monkeypatch,
                                                                              inflection_task):
    """Diagnosis once kept a code index at TMP/dgm-diagnose-index, a fixed name in a world-writable
    directory: a link planted there made dgm overwrite the link's target. It keeps nothing there now."""
    from dgm.diagnose import Target, diagnose
    from dgm.diagnosis_context import diagnosis_context
    from dgm.eval_record import write_result
    from dgm.evaluation import EvalResult
    from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply

    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm never reaches out for prices
    shared_tmp, target = tmp_path / "tmp", tmp_path / "target"
    shared_tmp.mkdir()
    target.mkdir()
    for name in ("dgm-diagnose-index", "dgm-agent-index", "dgm-index"):
        (shared_tmp / name).symlink_to(target)
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    task, log_dir = inflection_task, tmp_path / "logs"
    (log_dir / "agent" / "out").mkdir(parents=True)
    (log_dir / "agent" / "out" / "trajectory.jsonl").write_text('{"type": "exit", "reason": "submitted"}\n')
    write_result(log_dir, EvalResult("v1", task.instance_id, False, "1 FAIL_TO_PASS test(s) not passing", "submitted", 1.0))
    context = diagnosis_context(SEED_SOURCE, log_dir, task, "submitted", "llm", 60_000)
    answer = "SUMMARY: edits give up\nISSUE:\nIn tools/editor.py, show both places."
    with ScriptedLLMServer([ScriptedReply(content=answer)]) as server:
        import litellm

        def call(messages):
            return litellm.completion(model="openai/diagnoser", api_base=server.url, api_key="k",
                                      messages=messages).choices[0].message.content or ""

        assert diagnose(call, Target("task", task.instance_id, task.instance_id, ""), context).summary == "edits give up"
    assert list(target.iterdir()) == []

"""The archive: variants as commits with the lineage as the git DAG, a run database that never
records a result twice, reproducible parent selection, novelty, and the db/git check."""

from __future__ import annotations

import difflib
import random
import threading
from collections import Counter
from pathlib import Path

import pytest

from archive.check import check_run
from archive.db import RunDB, RunDBError
from archive.genome_repo import ChildRejected, GenomeRepo
from archive.lineage import clade, lineage_graph, path_from_root
from archive.novelty import CHARACTER_LEVEL_LIMIT, behaviour_distance, code_similarity, is_near_duplicate, novelty
from archive.selection import Candidate, DGMRule, select_parents


def _genome(root: Path) -> Path:
    (root / "agent").mkdir(parents=True)
    (root / "tools").mkdir()
    for path, text in SEED.items():
        (root / path).write_text(text)
    (root / "agent" / "__pycache__").mkdir()
    (root / "agent" / "__pycache__" / "loop.cpython-311.pyc").write_bytes(b"\0")
    return root


SEED = {"agent/loop.py": "STEPS = 10\n\n\ndef run():\n    return STEPS\n", "tools/edit.py": "def edit(x):\n    return x\n"}


def _diff(path: str, old: str, new: str, base: str | None = None) -> str:
    """A real git-style diff changing `old` to `new` in `path` (seed content unless `base`)."""
    before = base if base is not None else SEED.get(path, old + "\n")
    after = before.replace(old, new)
    body = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}"))
    return f"diff --git a/{path} b/{path}\n{body}"


@pytest.fixture()
def run(tmp_path):
    repo, seed = GenomeRepo.create(tmp_path / "run" / "genome.git", _genome(tmp_path / "src"))
    db = RunDB(tmp_path / "run" / "run.db", create=True)
    db.add_variant("seed", None, 0, "admitted", seed)
    return tmp_path / "run", repo, db, seed


def test_children_are_commits_whose_git_parent_is_their_parent(run, tmp_path):
    run_dir, repo, db, seed = run
    child = repo.commit_child(seed, _diff("agent/loop.py", "STEPS = 10", "STEPS = 20"), "more steps").sha
    grandchild = repo.commit_child(child, _diff("tools/edit.py", "def edit(x):", "def edit(x, y=0):"), "arg").sha
    assert repo.parents(child) == [seed] and repo.parents(grandchild) == [child]
    out = repo.checkout(grandchild, tmp_path / "out")
    assert (out / "agent" / "loop.py").read_text().startswith("STEPS = 20")
    assert not (out / "agent" / "__pycache__").exists()
    assert "+STEPS = 20" in repo.diff(seed, child)


# a diff as git writes one for a new symbolic link agent/x -> /etc/passwd
LINK_DIFF = ("diff --git a/agent/x b/agent/x\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n"
             "+++ b/agent/x\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n")


@pytest.mark.parametrize(
    ("diff", "message"),
    [("", "empty diff"), (_diff("dgm/engine.py", "a", "b"), "outside the genome"),
     (_diff("agent/loop.py", "NOT THERE", "x", base="NOT THERE\n"), "does not apply"),
     (LINK_DIFF, "holds a symlink, submodule or start-up file: agent/x")],
)
def test_bad_children_are_rejected_with_the_reason(run, diff, message):
    _, repo, _, seed = run
    with pytest.raises(ChildRejected, match=message):
        repo.commit_child(seed, diff, "bad")


def test_threads_commit_children_at_once(run):
    _, repo, _, seed = run
    shas: list[str] = []
    lock = threading.Lock()

    def commit(i: int) -> None:
        sha = repo.commit_child(seed, _diff("agent/loop.py", "STEPS = 10", f"STEPS = {100 + i}"), f"child {i}").sha
        with lock:
            shas.append(sha)

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(shas)) == 8 and all(repo.parents(s) == [seed] for s in shas)


def test_a_finished_evaluation_is_recorded_once_and_running_ones_reset_on_resume(run):
    _, _, db, _ = run
    db.plan_evaluations("seed", ["t1", "t2", "t3"], 0)
    db.start_evaluation("seed", "t1")
    assert db.finish_evaluation("seed", "t1", True, 1.0, 0.01, "submitted", "logs/t1")
    assert not db.finish_evaluation("seed", "t1", False, 2.0, 0.5, "error", "logs/t1b")
    db.start_evaluation("seed", "t2")
    db.plan_evaluations("seed", ["t1", "t2", "t4"], 1)  # planning again changes nothing planned
    assert db.reset_running() == 1
    assert db.unfinished("seed") == ["t2", "t3", "t4"]
    assert db.results("seed") == {"t1": True}
    assert db.total_cost() == pytest.approx(0.01)


def test_the_database_refuses_unknown_columns_and_missing_files(run, tmp_path):
    _, _, db, _ = run
    with pytest.raises(RunDBError, match="no column"):
        db.update_variant("seed", colour="red")
    with pytest.raises(RunDBError, match="not a run directory"):
        RunDB(tmp_path / "nowhere.db")


def test_lineage_clades_and_paths(run):
    _, _, db, _ = run
    db.add_variant("a", "seed", 1)
    db.add_variant("b", "a", 2)
    db.add_variant("c", "seed", 2)
    graph = lineage_graph(db)
    assert clade(graph, "a") == {"a", "b"}
    assert path_from_root(graph, "b") == ["seed", "a", "b"]


def test_the_dgm_weight_and_seeded_reproducibility():
    rule = DGMRule()
    assert rule.weight(Candidate("x", 0.5, 0)) == pytest.approx(0.5)
    assert rule.weight(Candidate("x", 0.5, 1)) == pytest.approx(0.25)
    assert rule.weight(Candidate("x", 0.9, 0)) == pytest.approx(1 / (1 + 2.718281828 ** -4), rel=1e-6)
    candidates = [Candidate(str(i), i / 10, i % 3) for i in range(10)]
    for name in ("dgm", "greedy", "uniform", "score_prop", "hgm"):
        first = select_parents(name, candidates, 20, random.Random(42))
        assert first == select_parents(name, candidates, 20, random.Random(42)), name
    picks = Counter(select_parents("dgm", candidates, 2000, random.Random(1)))
    assert picks["9"] > picks["1"] * 5


def test_the_clade_sampler_prefers_a_productive_subtree():
    candidates = [Candidate("barren", 0.6, 3, clade_successes=2, clade_failures=40),
                  Candidate("fertile", 0.4, 3, clade_successes=30, clade_failures=10)]
    picks = Counter(select_parents("hgm", candidates, 500, random.Random(0)))
    assert picks["fertile"] > 450


def test_near_duplicates_and_novelty():
    a = _diff("agent/loop.py", "STEPS = 10", "STEPS = 20")
    b = _diff("agent/loop.py", "STEPS = 10", "STEPS = 21")
    c = _diff("tools/edit.py", "def edit(x):", "def edit(x, retries=3):")
    assert is_near_duplicate(b, [a], threshold=0.9)
    assert not is_near_duplicate(c, [a], threshold=0.9)
    assert behaviour_distance({"t1": True, "t2": False}, {"t1": True, "t2": True, "t3": True}) == 0.5
    same = novelty(b, {"t1": True}, [(a, {"t1": True})])
    different = novelty(c, {"t1": False}, [(a, {"t1": True})])
    assert different > same


def test_the_check_passes_on_agreement_and_names_each_disagreement(run):
    run_dir, repo, db, seed = run
    child = repo.commit_child(seed, _diff("agent/loop.py", "STEPS = 10", "STEPS = 20"), "more steps").sha
    db.add_variant("child", "seed", 1, "admitted", child)
    db.plan_evaluations("child", ["t1", "t2"], 0)
    db.finish_evaluation("child", "t1", True, 1, 0, "submitted", "")
    db.finish_evaluation("child", "t2", False, 1, 0, "submitted", "")
    db.update_variant("child", score=0.5, stage=1)
    assert check_run(run_dir) == ["variant seed has no ref refs/variants/seed to its commit (`git gc` would delete it; "
                                  "`dgm resume` adds it)",
                                  "variant child has no ref refs/variants/child to its commit (`git gc` would delete "
                                  "it; `dgm resume` adds it)"]
    repo.keep({"seed": seed, "child": child})
    assert check_run(run_dir) == []
    orphan = repo.commit_child(seed, _diff("agent/loop.py", "STEPS = 10", "STEPS = 30"), "orphan").sha
    db.add_variant("ghost", "seed", 1, "admitted", "0" * 40)
    db.update_variant("child", score=0.9)
    problems = check_run(run_dir)
    assert any(orphan[:12] in p and "no variant names it" in p for p in problems)
    assert any("ghost" in p and "lacks" in p for p in problems)
    assert any("child has score 0.9000 but its results give 0.5000" in p for p in problems)


def test_novelty_of_big_diffs_compares_changed_lines_as_multisets():
    """Past CHARACTER_LEVEL_LIMIT characters, diffs are compared by the lines they share (linear
    in their size; character-level comparison took 88 s for two 1.6 MB diffs)."""
    lines = [f"+value_{i} = {i * 7919 % 10007}" for i in range(2 * CHARACTER_LEVEL_LIMIT // 10)]
    header = "diff --git a/agent/a.py b/agent/a.py\n--- a/agent/a.py\n+++ b/agent/a.py\n"
    diff = header + "\n".join(lines)
    assert len(diff) > CHARACTER_LEVEL_LIMIT
    assert code_similarity(diff, header + "\n".join(reversed(lines))) == 1.0  # same lines, any order
    half = lines[: len(lines) // 2] + [line + "  # changed" for line in lines[len(lines) // 2:]]
    assert code_similarity(diff, header + "\n".join(half)) == 0.5

"""Prove the run database and the genome repository agree."""

from __future__ import annotations

from pathlib import Path

from archive.db import RunDB
from archive.genome_repo import VARIANT_REFS, GenomeRepo, MissingCommit, stored_commits


def require_commits(db: RunDB, repo: GenomeRepo) -> dict[str, str]:
    """{variant id: commit} of every committed variant; raises MissingCommit, in one line naming
    the variants, if genome.git lacks any of those commits."""
    commits = {row.id: row.commit_sha for row in db.variants() if row.commit_sha}
    stored = stored_commits(repo)
    missing = [id for id, sha in commits.items() if sha not in stored]
    if missing:
        raise MissingCommit(f"{repo.path} lacks the commits of variant(s) {', '.join(missing[:5])}"
                            f"{' and more' if len(missing) > 5 else ''}: the genome repository was pruned or "
                            f"damaged; `dgm check` lists what is lost")
    return commits


def hold_variants(db: RunDB, repo: GenomeRepo) -> None:
    """Before a run goes on: every variant's commit must be in genome.git, and each gets its
    ref, so `git gc` keeps it."""
    repo.keep(require_commits(db, repo))


def check_run(run_dir: Path) -> list[str]:
    """Every disagreement between db and git, as readable lines; empty when they agree."""
    db = RunDB(run_dir / "run.db")
    repo = GenomeRepo(run_dir / "genome.git")
    rows = {row.id: row for row in db.variants()}
    problems = []
    committed = {}
    kept = repo.kept()
    for row in rows.values():
        if row.commit_sha is None:
            if row.status not in ("failed", "pending", "diagnosed", "modified"):
                problems.append(f"variant {row.id} is {row.status} but has no commit")
            continue
        if not repo.exists(row.commit_sha):
            problems.append(f"variant {row.id} names commit {row.commit_sha[:12]}, which the repository lacks")
            continue
        committed[row.commit_sha] = row.id
        if kept.get(row.id) != row.commit_sha:
            problems.append(f"variant {row.id} has no ref {VARIANT_REFS}{row.id} to its commit (`git gc` would "
                            f"delete it; `dgm resume` adds it)")
        parent = rows.get(row.parent_id) if row.parent_id else None
        git_parents = repo.parents(row.commit_sha)
        expected = [parent.commit_sha] if parent is not None and parent.commit_sha else []
        if git_parents != expected:
            problems.append(f"variant {row.id}: git parent {git_parents} is not its parent's commit {expected}")
    for sha in sorted(stored_commits(repo) - set(committed)):
        problems.append(f"commit {sha[:12]} is in the repository but no variant names it")
    for variant, task, _stage, status, _resolved in db.evaluation_rows():
        if variant not in rows:
            problems.append(f"evaluation of {task} names unknown variant {variant}")
    for row in rows.values():
        if row.score is None or row.stage == 0:
            continue
        # row.stage counts completed stages; an evaluation's stage is the index that planned it
        # held-out evaluations have a negative stage and never count towards the score
        done = [bool(resolved) for variant, _task, stage, status, resolved in db.evaluation_rows()
                if variant == row.id and 0 <= stage < row.stage and status == "done"]
        planned = [1 for variant, _task, stage, *_ in db.evaluation_rows() if variant == row.id and 0 <= stage < row.stage]
        if len(done) != len(planned):
            problems.append(f"variant {row.id} is scored on stage {row.stage} with unfinished evaluations")
        elif abs(row.score - sum(done) / len(done)) > 1e-9:
            problems.append(f"variant {row.id} has score {row.score:.4f} but its results give {sum(done) / len(done):.4f}")
    return problems

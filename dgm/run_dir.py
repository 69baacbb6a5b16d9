"""A run directory's layout, and the views of its variants derived from the database and git."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archive.db import RunDB
from archive.genome_repo import GenomeRepo
from dgm.errors import DgmError
from dgm.run_view import VariantView


@dataclass(frozen=True)
class RunDir:
    path: Path

    @property
    def db_path(self) -> Path:
        return self.path / "run.db"

    @property
    def genome_path(self) -> Path:
        return self.path / "genome.git"

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    def logs(self, variant_id: str, task_id: str) -> Path:
        return self.path / "logs" / variant_id / task_id

    def db(self) -> RunDB:
        return RunDB(self.db_path)

    def genomes(self) -> GenomeRepo:
        return GenomeRepo(self.genome_path)


def open_run(path: Path) -> RunDir:
    run = RunDir(path)
    missing = [p.name for p in (run.db_path, run.genome_path) if not p.exists()]
    if len(missing) == 2:
        raise DgmError(f"{path} is not a run directory (it needs run.db and genome.git)")
    if missing:
        raise DgmError(f"{path} is a damaged run directory: {missing[0]} is missing")
    return run


def variant_views(run: RunDir) -> list[VariantView]:
    db = run.db()
    return [
        VariantView(
            id=row.id, parent_id=row.parent_id, step=row.step, status=row.status, score=row.score,
            stage=row.stage, summary=row.summary, fail_reason=row.fail_reason, diagnosis=row.diagnosis,
            diff=row.diff, results=db.results(row.id), cost=db.variant_cost(row.id), heldout_score=row.heldout_score,
            novelty=row.novelty, diagnosis_task=row.diagnosis_task, created=row.created, updated=row.updated,
        )
        for row in db.variants()
    ]


def find_variant(views: list[VariantView], wanted: str) -> VariantView:
    """A variant by id or unique id prefix."""
    matches = [v for v in views if v.id == wanted] or [v for v in views if v.id.startswith(wanted)]
    if len(matches) != 1:
        known = ", ".join(v.id for v in views[:10])
        raise DgmError(f"{'no' if not matches else 'more than one'} variant matches {wanted!r} (variants: {known})")
    return matches[0]

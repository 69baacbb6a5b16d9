"""The run database: the one source of truth for variants, evaluations, costs and diagnoses.

SQLite in WAL mode, one connection per thread, every state change one short transaction, so a
run killed at any moment resumes from what was written. A finished evaluation is never
recorded twice: (variant, task) is unique and finishing is idempotent.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, fields
from pathlib import Path

from dgm.errors import DgmError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS variants (
    id TEXT PRIMARY KEY, parent_id TEXT REFERENCES variants(id), commit_sha TEXT, step INTEGER NOT NULL,
    status TEXT NOT NULL, fail_reason TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL DEFAULT '',
    diagnosis TEXT NOT NULL DEFAULT '', diagnosis_task TEXT NOT NULL DEFAULT '', diff TEXT NOT NULL DEFAULT '',
    score REAL, stage INTEGER NOT NULL DEFAULT 0, heldout_score REAL, novelty REAL,
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    variant_id TEXT NOT NULL REFERENCES variants(id), task_id TEXT NOT NULL, stage INTEGER NOT NULL,
    status TEXT NOT NULL, resolved INTEGER, duration REAL, cost REAL NOT NULL DEFAULT 0,
    agent_exit TEXT NOT NULL DEFAULT '', log_dir TEXT NOT NULL DEFAULT '', finished REAL,
    reused INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (variant_id, task_id));
CREATE TABLE IF NOT EXISTS costs (
    id INTEGER PRIMARY KEY, variant_id TEXT, kind TEXT NOT NULL, cost REAL NOT NULL, time REAL NOT NULL);
"""
# columns added after version 1, each with its default, so an older run.db is opened by adding them
ADDED_COLUMNS = {"evaluations": {"reused": "INTEGER NOT NULL DEFAULT 0"}}  # 1: taken from the evaluation cache
VERIFICATION_STAGE = -2  # a child's tries on the task it was diagnosed from; never a result or a score


class RunDBError(DgmError):
    """The run database is missing, from another schema version, or asked for what it lacks."""


@dataclass(frozen=True)
class VariantRow:
    id: str
    parent_id: str | None
    commit_sha: str | None
    step: int
    status: str  # pending | diagnosed | modified | evaluating | admitted | failed
    fail_reason: str
    summary: str
    diagnosis: str
    diagnosis_task: str
    diff: str
    score: float | None
    stage: int
    heldout_score: float | None
    novelty: float | None
    created: float
    updated: float


_VARIANT_COLUMNS = [f.name for f in fields(VariantRow)]


class RunDB:
    def __init__(self, path: Path, create: bool = False) -> None:
        if not create and not path.exists():
            raise RunDBError(f"{path} does not exist: not a run directory")
        self.path = path
        self._local = threading.local()
        self._conn().executescript(SCHEMA)  # executescript commits on its own: outside the transaction
        with self._tx() as db:
            for table, columns in ADDED_COLUMNS.items():
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns.items():
                    if name not in present:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise RunDBError(f"{path} has schema version {row[0]}; this dgm reads version {SCHEMA_VERSION}")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, kind, *rest) -> None:
            self.conn.execute("ROLLBACK" if kind else "COMMIT")

    def _tx(self) -> RunDB._Tx:
        return RunDB._Tx(self._conn())

    # --- meta ------------------------------------------------------------------------------

    def set_meta(self, key: str, value: object) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str, default: object = None) -> object:
        row = self._conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    # --- variants --------------------------------------------------------------------------

    def add_variant(self, id: str, parent_id: str | None, step: int, status: str = "pending",
                    commit_sha: str | None = None) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute("INSERT INTO variants (id, parent_id, commit_sha, step, status, created, updated) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (id, parent_id, commit_sha, step, status, now, now))

    def update_variant(self, id: str, **values: object) -> None:
        unknown = set(values) - set(_VARIANT_COLUMNS)
        if unknown:
            raise RunDBError(f"variants have no column(s) {', '.join(sorted(unknown))}")
        assignments = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            changed = db.execute(f"UPDATE variants SET {assignments}, updated = ? WHERE id = ?",
                                 (*values.values(), time.time(), id)).rowcount
        if not changed:
            raise RunDBError(f"no variant {id!r}")

    def variant(self, id: str) -> VariantRow:
        row = self._conn().execute(f"SELECT {', '.join(_VARIANT_COLUMNS)} FROM variants WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise RunDBError(f"no variant {id!r} in this run")
        return VariantRow(*row)

    def variants(self) -> list[VariantRow]:
        rows = self._conn().execute(f"SELECT {', '.join(_VARIANT_COLUMNS)} FROM variants ORDER BY step, created")
        return [VariantRow(*row) for row in rows]

    def children_counts(self) -> dict[str, int]:
        rows = self._conn().execute("SELECT parent_id, COUNT(*) FROM variants WHERE parent_id IS NOT NULL GROUP BY parent_id")
        return dict(rows.fetchall())

    # --- evaluations -----------------------------------------------------------------------

    def plan_evaluations(self, variant_id: str, tasks: list[str], stage: int) -> None:
        """Pending rows for tasks not yet planned; planned or finished ones are left as they are."""
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO evaluations (variant_id, task_id, stage, status) VALUES (?, ?, ?, 'pending')",
                           [(variant_id, t, stage) for t in tasks])

    def unfinished(self, variant_id: str) -> list[str]:
        rows = self._conn().execute("SELECT task_id FROM evaluations WHERE variant_id = ? AND status != 'done' "
                                    "ORDER BY task_id", (variant_id,))
        return [r[0] for r in rows]

    def start_evaluation(self, variant_id: str, task_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE evaluations SET status = 'running' WHERE variant_id = ? AND task_id = ? "
                       "AND status = 'pending'", (variant_id, task_id))

    def finish_evaluation(self, variant_id: str, task_id: str, resolved: bool, duration: float, cost: float,
                          agent_exit: str, log_dir: str, reused: bool = False) -> bool:
        """Record a result once; a second call for the same task changes nothing. Returns
        whether this call recorded it. `reused`: the result came from the evaluation cache."""
        with self._tx() as db:
            return db.execute(
                "UPDATE evaluations SET status = 'done', resolved = ?, duration = ?, cost = ?, agent_exit = ?, "
                "log_dir = ?, finished = ?, reused = ? WHERE variant_id = ? AND task_id = ? AND status != 'done'",
                (int(resolved), duration, cost, agent_exit, log_dir, time.time(), int(reused), variant_id, task_id),
            ).rowcount == 1

    def reset_running(self) -> int:
        """On resume: evaluations a killed process had started (never finished) run again."""
        with self._tx() as db:
            return db.execute("UPDATE evaluations SET status = 'pending' WHERE status = 'running'").rowcount

    def results(self, variant_id: str) -> dict[str, bool]:
        """Finished task results (held-out ones included); verification tries are not results."""
        rows = self._conn().execute("SELECT task_id, resolved FROM evaluations WHERE variant_id = ? AND status = 'done' "
                                    "AND stage != ?", (variant_id, VERIFICATION_STAGE))
        return {task: bool(resolved) for task, resolved in rows}

    def reused_evaluations(self) -> set[tuple[str, str]]:
        """(variant, task) of every finished evaluation taken from the evaluation cache."""
        rows = self._conn().execute("SELECT variant_id, task_id FROM evaluations WHERE status = 'done' AND reused = 1")
        return set(rows.fetchall())

    def agent_exit(self, variant_id: str, task_id: str) -> str:
        row = self._conn().execute("SELECT agent_exit FROM evaluations WHERE variant_id = ? AND task_id = ?",
                                   (variant_id, task_id)).fetchone()
        return row[0] if row else ""

    def evaluation_rows(self) -> list[tuple]:
        return self._conn().execute("SELECT variant_id, task_id, stage, status, resolved FROM evaluations").fetchall()

    # --- costs -----------------------------------------------------------------------------

    def add_cost(self, variant_id: str | None, kind: str, cost: float) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO costs (variant_id, kind, cost, time) VALUES (?, ?, ?, ?)",
                       (variant_id, kind, cost, time.time()))

    def total_cost(self) -> float:
        evaluations = self._conn().execute("SELECT COALESCE(SUM(cost), 0) FROM evaluations").fetchone()[0]
        other = self._conn().execute("SELECT COALESCE(SUM(cost), 0) FROM costs").fetchone()[0]
        return float(evaluations + other)

    def variant_cost(self, variant_id: str) -> float:
        evaluations = self._conn().execute("SELECT COALESCE(SUM(cost), 0) FROM evaluations WHERE variant_id = ?",
                                           (variant_id,)).fetchone()[0]
        other = self._conn().execute("SELECT COALESCE(SUM(cost), 0) FROM costs WHERE variant_id = ?",
                                     (variant_id,)).fetchone()[0]
        return float(evaluations + other)

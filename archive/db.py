"""The run database: the one source of truth for variants, evaluations, costs and diagnoses.

SQLite in WAL mode, one connection per thread, every state change one short transaction, so a
run killed at any moment resumes from what was written. A finished evaluation is never
recorded twice: (variant, task) is unique and finishing is idempotent. One process drives a run
at a time (`RunLock`), and a database file that exists is never re-created: an empty or damaged
one is an error naming it.
"""

from __future__ import annotations

import fcntl
import json
import os
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
HELDOUT_STAGE = -1  # evaluation rows of held-out tasks; never part of a variant's score
VERIFICATION_STAGE = -2  # a child's tries on the task it was diagnosed from; never a result or a score


class RunDBError(DgmError):
    """The run database is missing, damaged, from another schema version, or asked for what it lacks."""


LOCK_FILE = "run.lock"  # in the run directory; holds the pid of the process driving the run


class RunLocked(DgmError):
    """Another live process drives this run."""


class RunLock:
    """The right to drive one run: an exclusive flock on RUN/run.lock, which holds the owner's pid.
    The kernel releases it when its process dies however it dies, so a killed run's lock is free
    for the next `dgm resume` with nothing to clean up."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RunLocked(f"{self.path.parent} is being driven by process {owner}: stop it first, or wait "
                            f"for it to end") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    @staticmethod
    def held(run_dir: Path) -> bool:
        """Whether a live process drives the run now (a pid in the database can outlive its process
        and be reused by another; the lock cannot)."""
        try:
            fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # a shared lock taken here goes with the descriptor


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
        if create and path.exists():
            raise RunDBError(f"{path} already exists: a run database is never created over a file")
        if not create and not path.exists():
            raise RunDBError(f"{path} does not exist: not a run directory")
        if not create and path.stat().st_size == 0:
            raise RunDBError(f"{path} is empty (0 bytes): the run database is lost; restore it from a backup")
        self.path = path
        self._local = threading.local()
        try:
            if create:
                self._conn().executescript(SCHEMA)  # executescript commits on its own: outside the transaction
                self.set_meta("schema_version", SCHEMA_VERSION)
            else:
                self._verify()
                self._add_columns()
        except sqlite3.DatabaseError as e:
            raise RunDBError(f"{path} is damaged ({e}): not a readable run database") from e

    def _verify(self) -> None:
        """A database whose pages are sound and whose schema this dgm reads."""
        conn = self._conn()
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise RunDBError(f"{self.path} is damaged (SQLite's check: {problems[0]})")
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is None:
            raise RunDBError(f"{self.path} is a SQLite database but not a dgm run's (no schema version)")
        if int(json.loads(row[0])) != SCHEMA_VERSION:
            raise RunDBError(f"{self.path} has schema version {row[0]}; this dgm reads version {SCHEMA_VERSION}")

    def _add_columns(self) -> None:
        """Columns added since a run's database was made (its schema version is unchanged); a
        database that has them all is only read."""
        conn = self._conn()
        missing = [(table, name, kind) for table, columns in ADDED_COLUMNS.items()
                   for name, kind in columns.items()
                   if name not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}]
        if missing:
            with self._tx() as db:
                for table, name, kind in missing:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

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

    def evaluation_records(self) -> list[dict]:
        """Every evaluation row as a dict of all its columns (views such as the report read them whole)."""
        cursor = self._conn().execute("SELECT * FROM evaluations ORDER BY variant_id, task_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    # --- costs -----------------------------------------------------------------------------

    def add_cost(self, variant_id: str | None, kind: str, cost: float) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO costs (variant_id, kind, cost, time) VALUES (?, ?, ?, ?)",
                       (variant_id, kind, cost, time.time()))

    def cost_records(self) -> list[tuple[str | None, str, float, float]]:
        """(variant, kind, dollars, time) of every cost that is not an evaluation's."""
        return self._conn().execute("SELECT variant_id, kind, cost, time FROM costs ORDER BY time").fetchall()

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

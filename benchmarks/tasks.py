"""SWE-bench task instances: the record, where its repository snapshot comes from, and loading
JSONL with errors that name the file, line and field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dgm.errors import DgmError

SourceKind = Literal["git", "local", "pypi"]
REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement", "patch", "test_patch",
            "FAIL_TO_PASS", "PASS_TO_PASS")


class TaskFormatError(DgmError):
    """A task file holds a record that is not a valid task; the message names where."""


@dataclass(frozen=True)
class Source:
    """Where the repository snapshot at `base_commit` comes from.

    git: `location` is a repository URL or path and `base_commit` is checked out.
    local: `location` is a directory holding the snapshot.
    pypi: `location` is `name==version`; the source distribution is the pristine tree, and
    `setup_patch` (for generated tasks: the injected bug) turns it into the base.
    """

    kind: SourceKind
    location: str
    setup_patch: str = ""
    pythonpath: str = ""  # relative to the repository root, e.g. "src" for a src layout


@dataclass(frozen=True)
class Task:
    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    patch: str  # the gold fix
    test_patch: str
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    source: Source | None = None  # None: a SWE-bench instance graded with SWE-bench's own images
    environment: str = ""  # the environment image this task runs in (a suite's, or SWE-bench's)
    split: str = "train"  # train | heldout
    difficulty: str = ""
    extra: dict = field(default_factory=dict)  # any other SWE-bench field, kept as given


def _test_ids(value: object, where: str) -> tuple[str, ...]:
    # The published SWE-bench data stores these lists as JSON strings.
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise TaskFormatError(f"{where}: not a JSON list of test ids ({e.msg})") from e
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise TaskFormatError(f"{where}: must be a list of test ids (strings)")
    return tuple(value)


def _source(value: object, where: str) -> Source | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TaskFormatError(f"{where}: must be an object with kind and location")
    kind = value.get("kind")
    if kind not in ("git", "local", "pypi"):
        raise TaskFormatError(f"{where}.kind: must be git, local or pypi, not {kind!r}")
    location = value.get("location")
    if not isinstance(location, str) or not location:
        raise TaskFormatError(f"{where}.location: must be a non-empty string")
    if kind == "pypi" and "==" not in location:
        raise TaskFormatError(f"{where}.location: a PyPI source is name==version, not {location!r}")
    for key in ("setup_patch", "pythonpath"):
        if not isinstance(value.get(key, ""), str):
            raise TaskFormatError(f"{where}.{key}: must be a string")
    unknown = set(value) - {"kind", "location", "setup_patch", "pythonpath"}
    if unknown:
        raise TaskFormatError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    return Source(kind, location, value.get("setup_patch", ""), value.get("pythonpath", ""))


def require_fail_to_pass(task: Task, where: object) -> Task:
    """`task`, unless it lists no FAIL_TO_PASS test: then the empty patch would resolve it."""
    if not task.fail_to_pass:
        raise TaskFormatError(f"{where}: task {task.instance_id} has an empty FAIL_TO_PASS (no test shows the "
                              "bug, so an empty patch would resolve it)")
    return task


def parse_task(record: object, where: str) -> Task:
    if not isinstance(record, dict):
        raise TaskFormatError(f"{where}: a task must be a JSON object")
    for name in REQUIRED:
        if name not in record:
            raise TaskFormatError(f"{where}: field {name!r} is missing")
    for name in ("instance_id", "repo", "base_commit", "problem_statement", "patch", "test_patch"):
        if not isinstance(record[name], str):
            raise TaskFormatError(f"{where}: field {name!r} must be a string")
    if not record["instance_id"]:
        raise TaskFormatError(f"{where}: field 'instance_id' is empty")
    split = record.get("split", "train")
    if split not in ("train", "heldout"):
        raise TaskFormatError(f"{where}: field 'split' must be train or heldout, not {split!r}")
    known = set(REQUIRED) | {"source", "environment", "split", "difficulty"}
    return require_fail_to_pass(Task(
        instance_id=record["instance_id"], repo=record["repo"], base_commit=record["base_commit"],
        problem_statement=record["problem_statement"], patch=record["patch"],
        test_patch=record["test_patch"],
        fail_to_pass=_test_ids(record["FAIL_TO_PASS"], f"{where}: field 'FAIL_TO_PASS'"),
        pass_to_pass=_test_ids(record["PASS_TO_PASS"], f"{where}: field 'PASS_TO_PASS'"),
        source=_source(record.get("source"), f"{where}: field 'source'"),
        environment=str(record.get("environment", "")), split=split,
        difficulty=str(record.get("difficulty", "")),
        extra={k: v for k, v in record.items() if k not in known},
    ), where)


def iter_tasks(path: Path) -> Iterator[Task]:
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError as e:
        raise TaskFormatError(f"task file {path} does not exist") from e
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise TaskFormatError(f"{where}: not valid JSON ({e.msg} at column {e.colno})") from e
        yield parse_task(record, where)


def load_tasks(path: Path) -> list[Task]:
    """Every task in a JSONL file, validated; duplicate ids are an error."""
    tasks, seen = [], {}
    for task in iter_tasks(path):
        if task.instance_id in seen:
            raise TaskFormatError(f"{path}: instance_id {task.instance_id!r} appears twice")
        seen[task.instance_id] = task
        tasks.append(task)
    return tasks


def task_record(task: Task) -> dict:
    """The JSONL form of a task (the inverse of parse_task)."""
    record = {
        "instance_id": task.instance_id, "repo": task.repo, "base_commit": task.base_commit,
        "problem_statement": task.problem_statement, "patch": task.patch,
        "test_patch": task.test_patch, "FAIL_TO_PASS": list(task.fail_to_pass),
        "PASS_TO_PASS": list(task.pass_to_pass), "environment": task.environment,
        "split": task.split, "difficulty": task.difficulty, **task.extra,
    }
    if task.source is not None:
        record["source"] = {"kind": task.source.kind, "location": task.source.location,
                            "setup_patch": task.source.setup_patch, "pythonpath": task.source.pythonpath}
    return record

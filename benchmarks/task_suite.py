"""The seam every suite kind plugs into: where its tasks come from, which image each runs in,
how the agent's repository is made, and how a patch is graded.

    pyfix, or a directory with suite.toml   benchmarks.suite.Suite (projects + generated tasks)
    swebench:PATH                           a SWE-bench 5.x task repo or JSONL (benchmarks/swebench_repo.py)
    polyglot:PATH                           a Polyglot-layout tree (benchmarks/polyglot.py)
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from benchmarks.grader import GradeResult
    from benchmarks.tasks import Task

# prefix -> "module:factory"; the factory takes the path after the prefix and returns a TaskSuite.
# Imported only when asked for, so one kind's optional dependencies never load for another.
KINDS = {
    "swebench": "benchmarks.swebench_repo:load_swebench_repo",
    "polyglot": "benchmarks.polyglot:load_polyglot_suite",
}


@dataclass(frozen=True)
class AgentSetup:
    """How the agent's container is prepared before the agent starts."""

    # shell run first: makes `repo` a git work tree whose HEAD is the task's base, so the agent's
    # patch is its diff against HEAD
    repo_setup: str
    # copied in before repo_setup runs: container path -> a host directory or {name: text}
    inputs: Mapping[str, Path | Mapping[str, str]] = field(default_factory=dict)
    repo: str = "/work/repo"
    # None: the agent runs in the task's image and its commands beside it. Otherwise the agent
    # runs in dgm's sandbox image and its commands in the task's own container after this shell
    # prologue (the task's environment, e.g. a conda activation): sandbox/exec_relay.py
    task_env: str | None = None


class TaskSuite(Protocol):
    name: str

    def tasks(self) -> list[Task]:
        """Every task, validated: errors name the file and field."""
        ...

    def image_for(self, task: Task) -> str:
        """The image the task's agent and grading run in, built on first use and tagged by a hash
        of its inputs."""
        ...

    def agent_setup(self, task: Task) -> AgentSetup: ...

    def grade(self, task: Task, model_patch: str, *, log_dir: Path, timeout: float, run_id: str) -> GradeResult:
        """Grade `model_patch` in a fresh container; logs go to `log_dir`."""
        ...


def split_spec(spec: str) -> tuple[str, str]:
    """("", spec) for the suite.toml kind, (kind, path) for a prefixed spec; raises on an unknown
    prefix or an empty path, naming both."""
    from benchmarks.suite import SuiteError

    kind, sep, path = spec.partition(":")
    if not sep or "/" in kind or "\\" in kind:
        return "", spec
    if kind not in KINDS:
        raise SuiteError(f"suite {spec!r}: unknown suite kind {kind!r}; use a suite name or directory, "
                         + " or ".join(f"{k}:PATH" for k in KINDS))
    if not path:
        raise SuiteError(f"suite {spec!r}: {kind}: needs a path after the colon")
    return kind, path


def load_task_suite(spec: str) -> TaskSuite:
    """A suite by its spec: `pyfix` or a suite directory, `swebench:PATH` or `polyglot:PATH`."""
    from benchmarks.suite import load_suite

    kind, path = split_spec(spec)
    if not kind:
        return load_suite(spec)
    module, _, factory = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), factory)(Path(path))

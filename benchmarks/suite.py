"""A bundled suite: its projects (PyPI source distributions, fetched at build time and never
committed), its environment image, and its tasks."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.task_suite import AgentSetup
from benchmarks.tasks import Task, TaskFormatError, load_tasks
from dgm.errors import DgmError

if TYPE_CHECKING:
    from benchmarks.grader import GradeResult

SUITES_DIR = Path(__file__).resolve().parent / "suites"
PROJECTS_ROOT = "/opt/projects"  # where the environment image holds every pristine tree


class SuiteError(DgmError):
    """A suite is missing, malformed, or its projects cannot be fetched."""


@dataclass(frozen=True)
class Project:
    """A repository snapshot tasks are made on, and how to run its tests.

    pypi: the source distribution `name==version`; local: a directory (relative to the suite);
    git: a repository URL or path at `commit`.
    """

    name: str
    version: str
    pythonpath: str  # relative to the tree, e.g. "src"
    tests: str  # what to run to see the whole suite, e.g. "tests"
    kind: str = "pypi"
    location: str = ""
    commit: str = ""

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def key(self) -> str:
        """What a task's `source.location` names this project by."""
        return self.requirement if self.kind == "pypi" else self.location


@dataclass(frozen=True)
class Suite:
    name: str
    root: Path
    projects: tuple[Project, ...]
    test_timeout: int  # seconds per test, so buggy code that loops cannot stall grading

    @property
    def tasks_file(self) -> Path:
        return self.root / "tasks.jsonl"

    def project_for(self, key: str) -> Project:
        for project in self.projects:
            if project.key == key:
                return project
        raise SuiteError(f"suite {self.name} has no project {key}")

    def tasks(self) -> list[Task]:
        """The suite's tasks, each checked to name one of the suite's projects."""
        tasks = load_tasks(self.tasks_file)
        for task in tasks:
            if task.source is None:
                raise TaskFormatError(f"{self.tasks_file}: task {task.instance_id} has no source")
            project = self.project_for(task.source.location)
            if project.kind != task.source.kind:
                raise TaskFormatError(f"{self.tasks_file}: task {task.instance_id} says its source is "
                                      f"{task.source.kind}, but project {project.name} is {project.kind}")
        return tasks

    # --- the TaskSuite protocol (benchmarks/task_suite.py) --------------------------------------

    def image_for(self, task: Task) -> str:
        """The suite's one environment image, whatever the task; hashing the project trees once
        per process, since grading asks for it on every task."""
        with _images_lock:
            if self not in _images:
                _images[self] = ensure_environment_image(self)
            return _images[self]

    def agent_setup(self, task: Task) -> AgentSetup:
        from benchmarks.agent_run import task_repo_setup

        assert task.source is not None  # tasks() checked it
        return AgentSetup(task_repo_setup(task, self), {"/work/task": {"setup.patch": task.source.setup_patch}})

    def grade(self, task: Task, model_patch: str, *, log_dir: Path, timeout: float, run_id: str) -> GradeResult:
        from benchmarks.grader import grade

        return grade(task, model_patch, self, self.image_for(task), log_dir=log_dir, timeout=timeout, run_id=run_id)


_images: dict[Suite, str] = {}
_images_lock = threading.Lock()


def load_suite(name_or_path: str) -> Suite:
    """A bundled suite by name (see benchmarks/suites/) or a suite directory by path."""
    root = Path(name_or_path)
    if not (root / "suite.toml").exists():
        root = SUITES_DIR / name_or_path
    manifest = root / "suite.toml"
    if not manifest.exists():
        bundled = sorted(p.name for p in SUITES_DIR.iterdir() if (p / "suite.toml").exists())
        raise SuiteError(f"no suite {name_or_path!r}: not a directory with suite.toml, nor one of "
                         f"the bundled suites ({', '.join(bundled)})")
    try:
        data = tomllib.loads(manifest.read_text())
        projects = tuple(_project(p, root, manifest) for p in data["projects"])
        return Suite(data["name"], root, projects, int(data.get("test_timeout", 60)))
    except (KeyError, TypeError, tomllib.TOMLDecodeError) as e:
        raise SuiteError(f"{manifest}: malformed suite manifest ({e!r})") from e


def _project(entry: dict, root: Path, manifest: Path) -> Project:
    kind = entry.get("source", "pypi")
    needed = {"pypi": ("version",), "local": ("location",), "git": ("location", "commit")}
    if kind not in needed:
        raise SuiteError(f"{manifest}: project {entry.get('name')!r}: source must be pypi, local or git, not {kind!r}")
    missing = [k for k in needed[kind] if not entry.get(k)]
    if missing:
        raise SuiteError(f"{manifest}: project {entry.get('name')!r} ({kind}) needs {', '.join(missing)}")
    location = entry.get("location", "")
    if kind == "local" and not Path(location).is_absolute():
        location = str((root / location).resolve())
    return Project(entry["name"], entry.get("version", ""), entry.get("pythonpath", ""), entry["tests"],
                   kind, location, entry.get("commit", ""))


def _cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dgm" / "sdists"


def pristine_tree(project: Project) -> Path:
    """The project's tree before any task's bug: a PyPI source distribution unpacked once into
    the cache, a local directory as it is, or a git repository checked out at its commit."""
    if project.kind == "local":
        tree = Path(project.location)
        if not tree.is_dir():
            raise SuiteError(f"project {project.name}: {tree} is not a directory")
        return tree
    if project.kind == "git":
        return _git_tree(project)
    return _sdist_tree(project)


def _git_tree(project: Project) -> Path:
    tree = _cache() / f"{project.name}-git-{_slug(project)}"
    if (tree / ".complete").exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    for command in (["git", "clone", "--quiet", project.location, str(tree)],
                    ["git", "-C", str(tree), "checkout", "--quiet", "--detach", project.commit]):
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SuiteError(f"project {project.name}: {' '.join(command[:2])} failed: {proc.stderr.strip()[-300:]}")
    shutil.rmtree(tree / ".git")  # the snapshot, not the history: tasks start from a fresh repository
    (tree / ".complete").touch()
    return tree


def _slug(project: Project) -> str:
    return hashlib.sha256(f"{project.kind}:{project.location}@{project.commit}".encode()).hexdigest()[:10]


def _sdist_tree(project: Project) -> Path:
    cache = _cache()
    tree = cache / f"{project.name}-{project.version}"
    if (tree / ".complete").exists():
        return tree
    download = cache / "downloads"
    download.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "--disable-pip-version-check", "-d", str(download), project.requirement],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise SuiteError(f"cannot download the source of {project.requirement}: {proc.stderr.strip()[-500:]}")
    archives = [p for p in download.iterdir()
                if p.name.lower().replace("_", "-").startswith(f"{project.name.lower()}-{project.version}")]
    if not archives:
        raise SuiteError(f"pip downloaded no source archive for {project.requirement}")
    unpack = cache / "unpack"
    with tarfile.open(archives[0]) as tar:
        top = tar.getnames()[0].split("/")[0]
        tar.extractall(unpack, filter="data")
    if not tree.exists():
        (unpack / top).replace(tree)
    (tree / ".complete").touch()
    return tree


def tree_dir(project: Project) -> str:
    """Where the environment image holds the project's pristine tree."""
    if project.kind == "pypi":
        return f"{PROJECTS_ROOT}/{project.name}-{project.version}"
    return f"{PROJECTS_ROOT}/{project.name}-{project.kind}-{_slug(project)}"


ENV_DOCKERFILE = """\
FROM {sandbox}
# Pristine project trees; each task's state (its bug) is applied at run time.
COPY --chown=0:0 projects {projects}
COPY --chown=0:0 grading /opt/grading
"""


def ensure_environment_image(suite: Suite) -> str:
    """The suite's one environment image: the sandbox image plus every pristine project tree."""
    from sandbox.image import build_image, ensure_sandbox_image

    context: dict[str, bytes | Path] = {
        "projects/" + tree_dir(project).rsplit("/", 1)[1]: pristine_tree(project) for project in suite.projects
    }
    context["grading"] = Path(__file__).resolve().parent / "grading"
    dockerfile = ENV_DOCKERFILE.format(sandbox=ensure_sandbox_image(), projects=PROJECTS_ROOT)
    return build_image(f"dgm-env-{suite.name}", dockerfile, context)


def suite_digest(suite: Suite) -> str:
    return hashlib.sha256(suite.tasks_file.read_bytes()).hexdigest()[:12]


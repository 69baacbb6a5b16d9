"""A bundled suite: its projects (PyPI source distributions, fetched at build time and never
committed), its environment image, and its tasks."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from benchmarks.tasks import Task, TaskFormatError, load_tasks
from dgm.errors import DgmError

SUITES_DIR = Path(__file__).resolve().parent / "suites"
PROJECTS_ROOT = "/opt/projects"  # where the environment image holds every pristine tree


class SuiteError(DgmError):
    """A suite is missing, malformed, or its projects cannot be fetched."""


@dataclass(frozen=True)
class Project:
    name: str  # PyPI name
    version: str
    pythonpath: str  # relative to the tree, e.g. "src"
    tests: str  # what to run to see the whole suite, e.g. "tests"

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Suite:
    name: str
    root: Path
    projects: tuple[Project, ...]
    test_timeout: int  # seconds per test, so buggy code that loops cannot stall grading

    @property
    def tasks_file(self) -> Path:
        return self.root / "tasks.jsonl"

    def project_for(self, requirement: str) -> Project:
        for project in self.projects:
            if project.requirement == requirement:
                return project
        raise SuiteError(f"suite {self.name} has no project {requirement}")

    def tasks(self) -> list[Task]:
        return load_tasks(self.tasks_file)


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
        projects = tuple(
            Project(p["name"], p["version"], p.get("pythonpath", ""), p["tests"]) for p in data["projects"]
        )
        return Suite(data["name"], root, projects, int(data.get("test_timeout", 60)))
    except (KeyError, TypeError, tomllib.TOMLDecodeError) as e:
        raise SuiteError(f"{manifest}: malformed suite manifest ({e!r})") from e


def _cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dgm" / "sdists"


def pristine_tree(project: Project) -> Path:
    """The project's source distribution from PyPI, unpacked once into the cache."""
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
    return f"{PROJECTS_ROOT}/{project.name}-{project.version}"


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
        f"projects/{project.name}-{project.version}": pristine_tree(project) for project in suite.projects
    }
    context["grading"] = Path(__file__).resolve().parent / "grading"
    dockerfile = ENV_DOCKERFILE.format(sandbox=ensure_sandbox_image(), projects=PROJECTS_ROOT)
    return build_image(f"dgm-env-{suite.name}", dockerfile, context)


def suite_digest(suite: Suite) -> str:
    return hashlib.sha256(suite.tasks_file.read_bytes()).hexdigest()[:12]


def check_suite_tasks(suite: Suite) -> list[Task]:
    """The suite's tasks, each checked to name one of the suite's projects."""
    tasks = suite.tasks()
    for task in tasks:
        if task.source is None or task.source.kind != "pypi":
            raise TaskFormatError(f"{suite.tasks_file}: task {task.instance_id} has no PyPI source")
        suite.project_for(task.source.location)
    return tasks

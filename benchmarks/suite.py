"""A bundled suite: its projects (PyPI source distributions, fetched at build time and never
committed), its environment image, and its tasks."""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidSdistFilename, canonicalize_name, parse_sdist_filename
from packaging.version import InvalidVersion, Version

from benchmarks.task_suite import AgentSetup
from benchmarks.tasks import Task, TaskFormatError, load_tasks
from dgm.errors import DgmError
from dgm.user_cache import user_cache
from sandbox.container import GID, UID

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
    # What its tests need beyond the sandbox's pytest, as pip requirement specifiers; installed
    # offline from wheels into the suite's environment image.
    requirements: tuple[str, ...] = ()

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

    @property
    def manifest(self) -> Path:
        return self.root / "suite.toml"

    def project_for(self, key: str) -> Project:
        for project in self.projects:
            if project.key == key:
                return project
        raise SuiteError(f"suite {self.name} has no project {key}")

    def tasks(self) -> list[Task]:
        """The suite's tasks, each checked to name one of the suite's projects and to have a gold
        patch and a problem statement of its own: two tasks of one project with one fix are one task
        counted twice, and one report with two fixes is a task no agent can tell from the other."""
        tasks = load_tasks(self.tasks_file)
        first_with: dict[tuple[str, str, str], str] = {}
        for task in tasks:
            project_key = task.source.location if task.source else ""  # one fix on two projects is two tasks
            for what, value in (("gold patch", task.patch), ("problem statement", task.problem_statement)):
                other = first_with.setdefault((project_key, what, value), task.instance_id)
                if other != task.instance_id:
                    raise TaskFormatError(f"{self.tasks_file}: tasks {other} and {task.instance_id} have the same {what}")
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
        projects = tuple(_project(p, i, root, manifest) for i, p in enumerate(data["projects"]))
        return Suite(data["name"], root, projects, int(data.get("test_timeout", 60)))
    except (KeyError, TypeError, tomllib.TOMLDecodeError) as e:
        raise SuiteError(f"{manifest}: malformed suite manifest ({e!r})") from e


def _project(entry: dict, index: int, root: Path, manifest: Path) -> Project:
    kind = entry.get("source", "pypi")
    needed = {"pypi": ("version",), "local": ("location",), "git": ("location", "commit")}
    if kind not in needed:
        raise SuiteError(f"{manifest}: project {entry.get('name')!r}: source must be pypi, local or git, not {kind!r}")
    missing = [k for k in needed[kind] if not entry.get(k)]
    if missing:
        raise SuiteError(f"{manifest}: project {entry.get('name')!r} ({kind}) needs {', '.join(missing)}")
    if kind == "pypi":
        try:
            Version(entry["version"])
        except InvalidVersion as e:
            raise SuiteError(f"{manifest}: projects[{index}].version: {entry['version']!r} is not a version") from e
    location = entry.get("location", "")
    if kind == "local" and not Path(location).is_absolute():
        location = str((root / location).resolve())
    return Project(entry["name"], entry.get("version", ""), entry.get("pythonpath", ""), entry["tests"],
                   kind, location, entry.get("commit", ""), _requirements(entry, index, manifest))


def _requirements(entry: dict, index: int, manifest: Path) -> tuple[str, ...]:
    where = f"{manifest}: projects[{index}].requirements ({entry.get('name')!r})"
    value = entry.get("requirements", [])
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise SuiteError(f"{where}: must be a list of pip requirement strings, not {value!r}")
    for requirement in value:
        try:
            Requirement(requirement)
        except InvalidRequirement as e:
            raise SuiteError(f"{where}: {requirement!r} is not a pip requirement ({e})") from e
    return tuple(value)


def _cache() -> Path:
    return user_cache("sdists")


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
    # One download directory per requirement: a shared one would hold other versions' archives.
    download = cache / "downloads" / f"{canonicalize_name(project.name)}-{project.version}"
    download.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "--disable-pip-version-check", "-d", str(download), project.requirement],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        raise SuiteError(f"cannot download the source of {project.requirement}: {proc.stderr.strip()[-500:]}")
    archive = sdist_archive(download, project.name, project.version)
    with tempfile.TemporaryDirectory(dir=cache, prefix="unpack-") as unpack:
        top = unpack_sdist(archive, Path(unpack))
        if not tree.exists():
            top.replace(tree)
    (tree / ".complete").touch()
    return tree


def sdist_archive(directory: Path, name: str, version: str) -> Path:
    """The source distribution of exactly `name==version` in `directory`: names and versions are
    compared parsed, so `x==0.5.1` never takes `x-0.5.10.tar.gz` and `my_pkg` matches `my-pkg`."""
    wanted = (canonicalize_name(name), Version(version))
    for path in sorted(directory.iterdir()):
        try:
            if parse_sdist_filename(path.name) == wanted:
                return path
        except (InvalidSdistFilename, InvalidVersion):
            continue
    raise SuiteError(f"no source distribution of {name}=={version} (.tar.gz or .zip) in {directory}")


def unpack_sdist(archive: Path, dest: Path) -> Path:
    """Unpack a .tar.gz or .zip source distribution into `dest`; returns its top directory."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            zf.extractall(dest)  # zipfile drops absolute paths and `..` parts
    else:
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            tar.extractall(dest, filter="data")
    tops = {n.split("/")[0] for n in names if n.strip("/")}
    if len(tops) != 1 or not (dest / next(iter(tops))).is_dir():
        raise SuiteError(f"{archive}: a source distribution must hold one top directory, not {sorted(tops)[:5]}")
    return dest / tops.pop()


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
# The projects' test requirements, from wheels the host downloaded into the build context, so
# the build needs no network; installed into the venv that runs pytest.
REQUIREMENTS_STEP = """\
USER 0:0
COPY wheels /tmp/wheels
RUN /opt/venv/bin/pip install --no-index --no-compile --find-links /tmp/wheels {requirements} \\
 && rm -rf /tmp/wheels /root/.cache
USER {uid}:{gid}
"""


def ensure_environment_image(suite: Suite) -> str:
    """The suite's one environment image: the sandbox image plus every pristine project tree and
    every project's test requirements."""
    from sandbox.engine import SandboxError
    from sandbox.image import build_image, ensure_sandbox_image

    context: dict[str, bytes | Path] = {
        "projects/" + tree_dir(project).rsplit("/", 1)[1]: pristine_tree(project) for project in suite.projects
    }
    context["grading"] = Path(__file__).resolve().parent / "grading"
    sandbox = ensure_sandbox_image()
    dockerfile = ENV_DOCKERFILE.format(sandbox=sandbox, projects=PROJECTS_ROOT)
    requirements = sorted({r for project in suite.projects for r in project.requirements})
    if requirements:
        dockerfile += REQUIREMENTS_STEP.format(requirements=" ".join(shlex.quote(r) for r in requirements),
                                               uid=UID, gid=GID)
    try:
        return build_image(f"dgm-env-{suite.name}", dockerfile, context, requirements, wheels_for=sandbox)
    except SandboxError as e:
        if not requirements:
            raise
        named = ", ".join(f"{p.name} {list(p.requirements)}" for p in suite.projects if p.requirements)
        raise SuiteError(f"{suite.manifest}: the projects' `requirements` ({named}) could not be installed "
                         f"from wheels: {e}") from e


def suite_digest(suite: Suite) -> str:
    return hashlib.sha256(suite.tasks_file.read_bytes()).hexdigest()[:12]

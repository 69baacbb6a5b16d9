"""Variants as commits of a bare git repository inside the run directory; a child's git parent
is its parent's commit, so the lineage is the git DAG.

Children are committed through a temporary index per call (read-tree, apply --cached,
write-tree, commit-tree): no work tree is touched, so several threads can commit at once. Every
variant's commit is held by a ref, refs/variants/<id>, so `git gc` keeps it.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import git

from benchmarks.patch_reader import PatchError, read_patch
from benchmarks.patches import runner_hazard
from dgm.errors import DgmError

GENOME_PATHS = ("agent", "tools")
VARIANT_REFS = "refs/variants/"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".dgm-index", ".pytest_cache")
_AUTHOR = {"GIT_AUTHOR_NAME": "dgm", "GIT_AUTHOR_EMAIL": "dgm@localhost",
           "GIT_COMMITTER_NAME": "dgm", "GIT_COMMITTER_EMAIL": "dgm@localhost"}


class ChildRejected(DgmError):
    """A child's diff cannot become a variant: empty, hazardous, outside the genome, or not applicable."""


class MissingCommit(DgmError):
    """genome.git lacks a commit the run database names: the repository was damaged or pruned."""


@dataclass(frozen=True)
class ChildCommit:
    sha: str
    dropped: tuple[str, ...]  # sections of the child's diff outside the genome, left out of its commit


def genome_sections(diff: str) -> tuple[str, list[str]]:
    """The child's diff restricted to the genome, and the names of the sections left out. Raises
    ChildRejected for a diff git cannot read (or reads otherwise than dgm), for a binary change
    inside the genome, and for any section, wherever it is, that is a symlink, a submodule, a file
    Python loads at start-up (`.pth`, `sitecustomize`/`usercustomize`, installer metadata) or a
    new top-level module named like one the runner imports: such a child is hostile, not careless."""
    try:
        changes = read_patch(diff)
    except PatchError as e:
        raise ChildRejected(f"the child's diff cannot be read exactly: {e}") from e
    inside = [c for c in changes if all(_in_genome(p) for p in c.paths)]
    for change in changes:
        if runner_hazard(change) or (change.binary and change in inside):
            what = "a symlink, submodule or start-up file" if runner_hazard(change) else "a binary change"
            raise ChildRejected(f"the child's diff holds {what}: {change.name}")
    return "".join(c.text for c in inside), [c.name for c in changes if c not in inside]


def _in_genome(path: str) -> bool:
    return path.split("/", 1)[0] in GENOME_PATHS


class GenomeRepo:
    def __init__(self, path: Path) -> None:
        try:
            self.repo = git.Repo(path)
        except (git.NoSuchPathError, git.InvalidGitRepositoryError) as e:
            raise DgmError(f"{path} is not a genome repository (was the run initialised?)") from e
        self.path = path

    @classmethod
    def create(cls, path: Path, source: Path, message: str = "seed") -> tuple[GenomeRepo, str]:
        """A new repository whose root commit is the genome found in `source`."""
        missing = [p for p in GENOME_PATHS if not (source / p).is_dir()]
        if missing:
            raise DgmError(f"{source} has no {', '.join(missing)}/: not a genome to seed a run with")
        git.Repo.init(path, bare=True)
        repo = cls(path)
        with tempfile.TemporaryDirectory(prefix="dgm-seed-") as tmp:
            for name in GENOME_PATHS:
                shutil.copytree(source / name, Path(tmp, name), ignore=_IGNORE)
            env = {"GIT_INDEX_FILE": str(Path(tmp, ".index")), "GIT_WORK_TREE": tmp}
            repo.repo.git.add("--all", *GENOME_PATHS, env=env)
            tree = repo.repo.git.write_tree(env=env)
        sha = repo.repo.git.commit_tree(tree, "-m", message, env=_AUTHOR)
        return repo, sha

    def commit_child(self, parent_sha: str, diff: str, message: str, date: float | None = None) -> ChildCommit:
        """The child's commit, made of the genome part of its diff (files elsewhere, such as a
        scratch `reproduce.py`, are dropped and named). With `date` fixed (the variant's creation
        time) the same child always gets the same commit, so a commit redone after a crash is the
        one already stored."""
        if not diff.strip():
            raise ChildRejected("the child changed nothing (empty diff)")
        diff, dropped = genome_sections(diff)
        if not diff:
            raise ChildRejected("the child changed nothing inside the genome (its changes outside the genome "
                                f"are dropped: {', '.join(dropped[:5])})")
        with tempfile.TemporaryDirectory(prefix="dgm-commit-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp, "index"))}
            patch = Path(tmp, "child.diff")
            patch.write_text(diff if diff.endswith("\n") else diff + "\n")
            self.repo.git.read_tree(parent_sha, env=env)
            try:
                self.repo.git.apply("--cached", "--whitespace=nowarn", str(patch), env=env)
            except git.GitCommandError as e:
                raise ChildRejected(f"the child's diff does not apply to its parent: {e.stderr.strip()[-300:]}") from e
            tree = self.repo.git.write_tree(env=env)
        if tree == self.repo.git.rev_parse(f"{parent_sha}^{{tree}}"):
            raise ChildRejected("the child's diff leaves the genome unchanged")
        stamp = {} if date is None else {"GIT_AUTHOR_DATE": f"@{int(date)} +0000", "GIT_COMMITTER_DATE": f"@{int(date)} +0000"}
        sha = self.repo.git.commit_tree(tree, "-p", parent_sha, "-m", message, env={**_AUTHOR, **stamp})
        return ChildCommit(sha, tuple(dropped))

    def checkout(self, sha: str, dest: Path) -> Path:
        """The variant's genome as files in `dest`. A genome is regular files and directories:
        one holding a link or any other kind of file is rejected, never written out."""
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile() as archive:
            try:
                self.repo.git.archive("--format=tar", sha, output_stream=archive)
            except git.GitCommandError as e:
                raise MissingCommit(f"{self.path} lacks commit {sha[:12]} (was it garbage-collected or "
                                    f"damaged?); `dgm check` on the run lists what is lost") from e
            archive.seek(0)
            with tarfile.open(fileobj=archive) as tar:
                members = tar.getmembers()
                special = [m.name for m in members if not (m.isfile() or m.isdir())]
                if special:
                    raise ChildRejected(f"genome {sha[:12]} holds {', '.join(special[:5])}: links and special "
                                        f"files are not allowed in a genome")
                tar.extractall(dest, members=members, filter="data")
        return dest

    def keep(self, commits: Mapping[str, str]) -> None:
        """Point refs/variants/<id> at each variant's commit, so `git gc` never prunes one."""
        if commits:
            with tempfile.TemporaryFile("w+") as updates:
                updates.writelines(f"update {VARIANT_REFS}{id} {sha}\n" for id, sha in commits.items())
                updates.seek(0)
                self.repo.git.update_ref("--stdin", istream=updates)

    def kept(self) -> dict[str, str]:
        """{variant id: commit} of every variant ref."""
        out = self.repo.git.for_each_ref("--format=%(refname) %(objectname)", VARIANT_REFS)
        return {ref.removeprefix(VARIANT_REFS): sha for ref, sha in (line.split() for line in out.splitlines())}

    def diff(self, a_sha: str, b_sha: str) -> str:
        return self.repo.git.diff(a_sha, b_sha, "--", *GENOME_PATHS) + "\n"

    # One-shot git commands throughout: gitpython's persistent object reader is not thread-safe.
    def parents(self, sha: str) -> list[str]:
        return self.repo.git.rev_list("--parents", "-n", "1", sha).split()[1:]

    def exists(self, sha: str) -> bool:
        try:
            self.repo.git.cat_file("-e", f"{sha}^{{commit}}")
            return True
        except git.GitCommandError:
            return False


def stored_commits(repo: GenomeRepo) -> set[str]:
    """Every commit in the object store, whether or not any variant names it."""
    out = repo.repo.git.cat_file("--batch-all-objects", "--batch-check")
    return {line.split()[0] for line in out.splitlines() if line.split()[1] == "commit"}

"""Turn real upstream fixes, the change between a PyPI release and its patch release, into tasks.

The buggy release is a suite project (its source distribution is the pristine tree); the fixed
release's source distribution is fetched beside it and the two trees are diffed. Changed test
files become the test patch, changed Python source outside tests becomes the gold patch (hunks
that only bump the version are left out), and everything else (changelogs, docs, packaging
metadata, build config) is dropped. The changed test files are run in the suite's environment
image before and after the gold patch, the test patch applied both times: FAIL_TO_PASS are the
tests that fail before and pass after, PASS_TO_PASS those that pass both times. A task is admitted
as generated ones are: gold 3 runs out of 3, the empty patch fails, unfixed grading within 30 s.

Which fixes to take, and each problem statement (a user's bug report that never names the fix),
are curated by hand in the suite's `real_fixes.toml`; this module does the mechanical rest:

    python -m benchmarks.real_fixes pyfix      # rebuild every listed fix into tasks.jsonl
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from benchmarks.generate import admitted
from benchmarks.grader import run_tests
from benchmarks.patches import is_test_path, split_files
from benchmarks.suite import Suite, SuiteError, ensure_environment_image, load_suite, pristine_tree
from benchmarks.tasks import Source, Task, iter_tasks, task_record

console = Console(stderr=True)
DIFFICULTY = "real"
MANIFEST = "real_fixes.toml"
_NOT_SOURCE = ("docs", "doc", "examples", "benchmarks", "build")
_HUNK = re.compile(r"^@@ .* @@", re.M)


class RealFixError(SuiteError):
    """A listed real fix cannot be turned into a task; the message names the fix and why."""


@dataclass(frozen=True)
class Fix:
    """One curated upstream fix: the buggy release (a suite project), its fixed release, and the
    bug report a user would file."""

    project: str  # name==version of the buggy release, a project of the suite
    fixed: str  # the version that fixes it
    slug: str  # names the bug, as one release can fix several
    problem_statement: str
    split: str = "train"
    tests: tuple[str, ...] = ()  # test files to run; default: the test files the fix changes
    files: tuple[str, ...] = ()  # source files the gold patch keeps; default: every changed one

    @property
    def instance_id(self) -> str:
        return f"{self.project.split('==')[0]}__real__{self.fixed}__{self.slug}"


@dataclass(frozen=True)
class ReleaseDiff:
    patch: str  # non-test source: the gold fix
    test_patch: str
    dropped: tuple[str, ...]  # changed paths that are neither


def load_fixes(suite: Suite) -> list[Fix]:
    manifest = suite.root / MANIFEST
    try:
        entries = tomllib.loads(manifest.read_text())["fixes"]
        fixes = [Fix(e["project"], e["fixed"], e["slug"], e["problem_statement"].strip() + "\n",
                     e.get("split", "train"), tuple(e.get("tests", ())), tuple(e.get("files", ())))
                 for e in entries]
    except FileNotFoundError as e:
        raise RealFixError(f"suite {suite.name} lists no real fixes: {manifest} does not exist") from e
    except (KeyError, TypeError, tomllib.TOMLDecodeError) as e:
        raise RealFixError(f"{manifest}: malformed fix list ({e!r})") from e
    for fix in fixes:
        if fix.split not in ("train", "heldout"):
            raise RealFixError(f"{manifest}: fix {fix.instance_id}: split must be train or heldout, not {fix.split!r}")
    return fixes


def file_diff(path: str, before: str | None, after: str | None) -> str:
    """A git-style diff of one file; None on a side means the file is absent there."""
    old = (before or "").splitlines(True)
    new = (after or "").splitlines(True)
    lines = difflib.unified_diff(old, new, "/dev/null" if before is None else f"a/{path}",
                                 "/dev/null" if after is None else f"b/{path}")
    # A last line without a newline needs git's marker, or the next file's header joins it.
    body = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    mode = "new file mode 100644\n" if before is None else "deleted file mode 100644\n" if after is None else ""
    return f"diff --git a/{path} b/{path}\n{mode}{body}" if body else ""


def without_version_bumps(diff: str, versions: tuple[str, str]) -> str:
    """The file diff without hunks whose every changed line names one of the two versions (the
    release's own bump); "" if nothing else is left. git apply places hunks by their old-side
    lines, so the kept hunks need no renumbering."""
    starts = [m.start() for m in _HUNK.finditer(diff)]
    hunks = [diff[a:b] for a, b in zip(starts, starts[1:] + [len(diff)])]
    kept = [h for h in hunks
            if not all(any(v in line for v in versions) for line in _changed_lines(h))]
    return diff[:starts[0]] + "".join(kept) if kept else ""


def _changed_lines(hunk: str) -> list[str]:
    return [line[1:] for line in hunk.splitlines()[1:] if line[:1] in "+-"]


def _is_source(path: str) -> bool:
    parts = Path(path).parts
    return (path.endswith(".py") and parts[-1] not in ("setup.py", "noxfile.py")
            and not any(p in _NOT_SOURCE or p.endswith(".egg-info") for p in parts))


def _is_test(path: str) -> bool:
    # Test modules, their helpers and data; not the packaging metadata and tool config is_test_path
    # also covers (a release's `*.egg-info/PKG-INFO` changes with its version)
    parts = Path(path).parts
    return (is_test_path(path) and not any(p.endswith((".egg-info", ".dist-info")) for p in parts)
            and (len(parts) > 1 or parts[-1].startswith("test") or parts[-1] == "conftest.py"))


def release_diff(before: Path, after: Path, versions: tuple[str, str]) -> ReleaseDiff:
    """Split the change from the tree `before` to the tree `after` into gold and test patches."""
    files = lambda tree: {str(p.relative_to(tree)) for p in tree.rglob("*") if p.is_file()}  # noqa: E731
    patch, test_patch, dropped = [], [], []
    for path in sorted(files(before) | files(after)):
        a, b = before / path, after / path
        if path == ".complete" or (a.is_file() and b.is_file() and a.read_bytes() == b.read_bytes()):
            continue
        try:
            old, new = (f.read_text() if f.is_file() else None for f in (a, b))
        except UnicodeDecodeError:  # a binary file: no text diff can carry it
            dropped.append(path)
            continue
        if _is_test(path):
            test_patch.append(file_diff(path, old, new))
        elif _is_source(path) and (diff := without_version_bumps(file_diff(path, old, new), versions)):
            patch.append(diff)
        else:
            dropped.append(path)
    return ReleaseDiff("".join(patch), "".join(test_patch), tuple(dropped))


def changed_test_files(test_patch: str) -> list[str]:
    names = re.findall(r"^diff --git a/\S+ b/(\S+)", test_patch, re.M)
    return [n for n in names if Path(n).name.startswith("test") and n.endswith(".py")]


def build_task(fix: Fix, suite: Suite, image: str) -> Task:
    """The task for `fix`, with FAIL_TO_PASS and PASS_TO_PASS found by running its tests."""
    project = suite.project_for(fix.project)
    fixed = replace(project, version=fix.fixed)
    diff = release_diff(pristine_tree(project), pristine_tree(fixed), (project.version, fix.fixed))
    sections = dict(split_files(diff.patch))
    missing = set(fix.files) - set(sections)
    if missing:
        raise RealFixError(f"fix {fix.instance_id}: files {', '.join(sorted(missing))} are not among the "
                           f"source files {fixed.requirement} changes ({', '.join(sections) or 'none'})")
    # A release that fixes several bugs: each task's gold patch is the part of the diff for its own.
    gold = "".join(section for path, section in sections.items() if not fix.files or path in fix.files)
    if not gold:
        raise RealFixError(f"fix {fix.instance_id}: {fixed.requirement} changes no source outside tests")
    tests = list(fix.tests) or changed_test_files(diff.test_patch)
    if not tests:
        raise RealFixError(f"fix {fix.instance_id}: {fixed.requirement} changes no test file; name them in tests")
    runs = {kind: run_tests(suite, image, project, tests, setup_patch="", model_patch=patch,
                            test_patch=diff.test_patch, timeout=300, run_id="real-fixes")
            for kind, patch in (("before", ""), ("after", gold))}
    for kind, run in runs.items():
        if run.reason != "exit" or not run.outcomes:
            raise RealFixError(f"fix {fix.instance_id}: the tests did not run {kind} the fix "
                               f"({run.reason}, exit {run.exit_code}): {run.output[-400:]}")
    before, after = runs["before"].outcomes, runs["after"].outcomes
    f2p = sorted(t for t, o in after.items() if o == "passed" and before.get(t) != "passed")
    p2p = sorted(t for t, o in after.items() if o == "passed" and before.get(t) == "passed")
    if not f2p:
        raise RealFixError(f"fix {fix.instance_id}: no test of {', '.join(tests)} fails before the fix and passes after")
    console.log(f"{fix.instance_id}: {len(f2p)} failing, {len(p2p)} passing; dropped {', '.join(diff.dropped)}")
    return Task(
        instance_id=fix.instance_id, repo=project.name, base_commit=project.requirement,
        problem_statement=fix.problem_statement, patch=gold, test_patch=diff.test_patch,
        fail_to_pass=tuple(f2p), pass_to_pass=tuple(p2p),
        source=Source("pypi", project.requirement, "", project.pythonpath),
        environment=f"suite:{suite.name}", split=fix.split, difficulty=DIFFICULTY,
        extra={"fixed_release": fixed.requirement},
    )


def write_real_tasks(suite: Suite, tasks: list[Task]) -> None:
    """Replace the suite's real tasks by `tasks`, keeping every other line of tasks.jsonl as it is."""
    list(iter_tasks(suite.tasks_file))  # refuse to rewrite a file that does not load
    lines = [line for line in suite.tasks_file.read_text().splitlines() if line.strip()]
    others = [line for line in lines if json.loads(line).get("difficulty") != DIFFICULTY]
    real = [json.dumps(task_record(t)) for t in sorted(tasks, key=lambda t: t.instance_id)]
    suite.tasks_file.write_text("".join(line + "\n" for line in others + real))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite")
    parser.add_argument("--logs", type=Path, default=Path("runs/real-fixes"))
    args = parser.parse_args()
    suite = load_suite(args.suite)
    image = ensure_environment_image(suite)
    tasks, rejected = [], []
    for fix in load_fixes(suite):
        try:
            task = build_task(fix, suite, image)
        except RealFixError as e:
            rejected.append(str(e))
            continue
        if admitted(task, suite, image, args.logs):
            tasks.append(task)
        else:
            rejected.append(f"fix {fix.instance_id}: not admitted (gold not 3/3, the empty patch resolved it, "
                            f"or unfixed grading over 30 s); see {args.logs / fix.instance_id}")
    write_real_tasks(suite, tasks)
    console.print(f"wrote {len(tasks)} real tasks to {suite.tasks_file}")
    if rejected:
        raise RealFixError("; ".join(rejected))

if __name__ == "__main__":
    main()

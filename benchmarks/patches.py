"""Which parts of a graded patch are kept, per suite kind, decided on what `git apply` would
write (benchmarks/patch_reader.py), never on headers: each rule looks at every name a file
section touches (both sides of a rename or copy), its modes and whether it is binary.

Every suite kind drops what could load into, shadow or replace the test runner (`runner_hazard`)
and compiled modules, which Python would run in place of their source (`compiled_module`); on top
of that, pyfix drops tests, test set-up and the helper modules tests use, SWE-bench resets
the test patch's files (its own rule, nothing more), and polyglot keeps only solution files.
"""

from __future__ import annotations

import posixpath
import re
import sys
from collections.abc import Callable, Collection
from pathlib import PurePosixPath

from benchmarks.patch_reader import FileChange, PatchError, read_patch

# Files that decide how tests run or what they see: a pyfix patch may not add or change them.
_TEST_SETUP = re.compile(
    r"(^|/)(conftest\.py|\.?pytest\.ini|tox\.ini|setup\.cfg|pyproject\.toml|noxfile\.py)$"
)
# Loaded by Python's start-up or by an installer's metadata wherever they are on the path; and
# git's own directory, whose config would run commands when the test patch is applied.
_STARTUP = re.compile(r"(^|/)(sitecustomize|usercustomize)(\.[^/]*)?(/|$)|\.pth$|\.(dist|egg)-info(/|$)|(^|/)\.git/")
# Compiled modules: Python imports an unchecked hash-based .pyc whatever its source says, and pytest
# reads the .pyc it caches rewritten test modules in even when it writes none; an extension module
# (`helpers.cpython-311-x86_64-linux-gnu.so`) is imported before the `.py` beside it. One in a patch
# would replace, unseen, code the grader protects (a helper, a test) or the code under test.
_COMPILED = re.compile(r"(^|/)__pycache__/|\.py[co]$|\.(so|pyd)$")
# What the runner imports besides the standard library: a new top-level module of this name
# in the repository would stand in for it wherever the repository comes first on the path.
RUNNER_MODULES = frozenset({"pytest", "_pytest", "pluggy", "py", "iniconfig", "packaging", "pytest_timeout",
                            "dgm_report", "exceptiongroup", "tomli"}) | (sys.stdlib_module_names - {"test"})
_SOURCE_ROOTS = ("src", "lib")  # where a src-layout project's top-level modules live
WHOLE_PATCH = "(the whole patch: "  # how a verdict names a patch refused as a whole


def is_test_path(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1] if parts else ""
    return (
        bool(_TEST_SETUP.search(path)) or bool(_STARTUP.search(path))
        or any(p in ("test", "tests", "testing") for p in parts[:-1])
        or name.startswith("test_") or name.endswith("_test.py")
    )


def runner_hazard(change: FileChange) -> bool:
    """Whether the section could change the test runner rather than the code under test: a
    name not in its plain form, a symlink or submodule, a start-up file (`.pth`, `sitecustomize`/`usercustomize`, installer
    metadata) or a file under `.git/` anywhere, or a new top-level module or package named like
    one the runner imports."""
    if change.special_mode or any(_STARTUP.search(path) or _unnormal(path) for path in change.paths):
        return True
    return change.creates and _top_level_module(change.new_path or "") in RUNNER_MODULES


def _unnormal(path: str) -> bool:
    """A name with an empty, `.` or `..` component or a leading slash: git refuses to write it, and
    GNU patch (the fallback) writes `b//pytest.py` or `b/./x.py` to the plain name, which every
    rule would have to match in all its spellings (a helper module named `./pkg/helpers.py`)."""
    return path.startswith("/") or posixpath.normpath(path) != path or path.split("/")[0] == ".."


def compiled_module(change: FileChange) -> bool:
    """Whether the section touches a compiled module (`.pyc`, anything under `__pycache__/`)."""
    return any(_COMPILED.search(path) for path in change.paths)


def _top_level_module(path: str) -> str:
    """The module a file makes importable from the repository's root (or its src/ or lib/):
    `pytest.py` and `pytest/__init__.py` make `pytest`; a namespace package never wins over a
    real one, so other files make none."""
    parts = PurePosixPath(path).parts
    if len(parts) > 1 and parts[0] in _SOURCE_ROOTS:
        parts = parts[1:]
    if len(parts) == 2 and parts[1].split(".")[0] == "__init__":
        return parts[0]
    name, _, suffix = parts[0].partition(".") if len(parts) == 1 else ("", "", "")
    return name if suffix.rsplit(".", 1)[-1] in ("py", "pyc", "so", "pyd") else ""


def keep_changes(diff: str, dropped: Callable[[str], bool]) -> tuple[str, list[str]]:
    """The sections of `diff` that are neither runner hazards nor compiled modules nor touch a path
    `dropped` names, and the names of every section left out. Hunks are kept byte for byte; the
    name lines are rewritten with the names git read (`FileChange.canonical`), since the grader
    falls back to GNU patch, which picks names otherwise. A patch git cannot read, or reads
    otherwise than dgm, is left out whole: its one "dropped path" says why."""
    try:
        changes = read_patch(diff)
    except PatchError as e:
        return "", [f"{WHOLE_PATCH}{e})"]
    kept, out = [], []
    for change in changes:
        if runner_hazard(change) or compiled_module(change) or any(dropped(path) for path in change.paths):
            out.append(change.name)
        else:
            kept.append(change)
    text = "".join(change.canonical for change in kept)
    try:  # the graded patch must say exactly what was vetted, to git and to GNU patch alike
        same = [_effect(c) for c in read_patch(text)] == [_effect(c) for c in kept]
    except PatchError:
        same = False
    if not same:
        return "", [f"{WHOLE_PATCH}its sections cannot be written with one name each, as git reads them)"]
    return text, out


def _effect(change: FileChange) -> tuple:
    return (change.kind, change.old_path, change.new_path, change.old_mode, change.new_mode, change.binary,
            change.added, change.deleted)


def drop_test_changes(diff: str, helpers: Collection[str] = ()) -> tuple[str, list[str]]:
    """pyfix's rule: the diff without sections touching tests, test set-up or the `helpers`
    (modules the tests use as helpers) under any file that Python would import for them (a
    package `pkg/helpers/__init__.py` is imported in place of `pkg/helpers.py`), and the names dropped."""
    helper_modules = {_module(path) for path in helpers} - {None}
    return keep_changes(diff, lambda path: is_test_path(path) or path in helpers or _module(path) in helper_modules)


def _module(path: str) -> str | None:
    """The dotted module a file is imported as from its directory (`pkg/helpers.py`,
    `pkg/helpers/__init__.py` and `pkg/helpers.abi3.so` are all `pkg.helpers`), or None."""
    parts = PurePosixPath(path).parts
    if not parts or parts[-1].rsplit(".", 1)[-1] not in ("py", "so", "pyd"):
        return None
    stem = parts[-1].split(".", 1)[0]
    return ".".join(parts[:-1] if stem == "__init__" else (*parts[:-1], stem)) or None


def swebench_changes(diff: str, test_patch: str) -> tuple[str, list[str]]:
    """SWE-bench's rule: the files its test patch changes are reset to the task's version, so the
    model's changes to them are dropped; every other change is kept (source under `test/` or
    `testing/` directories, packaging and tool config included), runner hazards aside."""
    test_files = patch_paths(test_patch)
    return keep_changes(diff, test_files.__contains__)


def patch_paths(diff: str) -> set[str]:
    """Every name a (trusted) patch touches, e.g. a task's test or gold patch."""
    return {path for change in read_patch(diff) for path in change.paths}


def split_files(diff: str) -> list[tuple[str, str]]:
    """(path, section text) for each file section of a diff, as git reads it."""
    return [(change.path, change.text) for change in read_patch(diff)]


_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")


def changed_lines(diff: str) -> set[tuple[str, int]]:
    """(path, line) for every line a diff removes, or that a pure insertion goes before, in the
    old file's numbering: where a diff changes its target, so diffs can be compared by location."""
    changed = set()
    for path, section in split_files(diff):
        old, removing = 0, False
        for line in section.splitlines():
            hunk = _HUNK.match(line)
            if hunk:
                old, removing = int(hunk.group(1)), False
            elif not old or line.startswith(("---", "+++")):
                continue
            elif line.startswith("-"):
                changed.add((path, old))
                old, removing = old + 1, True
            elif line.startswith("+"):
                if not removing:  # a replacement is located by the lines it removes
                    changed.add((path, old))
            elif line.startswith(" "):
                old, removing = old + 1, False
    return changed

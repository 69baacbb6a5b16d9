"""Splitting and filtering unified diffs by file, so graded code cannot touch its own tests."""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import PurePosixPath

_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)", re.M)
# Files that decide how tests run or what they see: a patch may not add or change them.
_TEST_SETUP = re.compile(
    r"(^|/)(conftest\.py|pytest\.ini|tox\.ini|setup\.cfg|pyproject\.toml|noxfile\.py|"
    r"sitecustomize\.py|usercustomize\.py|[^/]*\.pth)$"
)


def split_files(diff: str) -> list[tuple[str, str]]:
    """(path, section) for each file a git-style diff touches; sections keep their text exactly.

    A diff without `diff --git` headers (plain `---`/`+++`) is split on its `--- ` lines.
    """
    starts = [m.start() for m in _HEADER.finditer(diff)]
    if not starts:
        starts = [m.start() for m in re.finditer(r"^--- ", diff, re.M)]
    sections = [diff[a:b] for a, b in zip(starts, starts[1:] + [len(diff)])]
    return [(_path_of(section), section) for section in sections]


def _path_of(section: str) -> str:
    header = _HEADER.match(section)
    if header:
        return header.group(2)
    for line in section.splitlines():
        if line.startswith("+++ ") or line.startswith("--- "):
            name = line[4:].split("\t")[0].strip()
            if name != "/dev/null":
                return name[2:] if name[:2] in ("a/", "b/") else name
    return ""


def is_test_path(path: str) -> bool:
    parts = PurePosixPath(path).parts
    name = parts[-1] if parts else ""
    return (
        bool(_TEST_SETUP.search(path))
        or any(p in ("test", "tests", "testing") for p in parts[:-1])
        or name.startswith("test_") or name.endswith("_test.py")
    )


def drop_test_changes(diff: str, helpers: Collection[str] = ()) -> tuple[str, list[str]]:
    """The diff without sections touching tests, test set-up or the `helpers` (modules the tests
    use as helpers), and the paths dropped."""
    kept, dropped = [], []
    for path, section in split_files(diff):
        (dropped if is_test_path(path) or path in helpers else kept).append((path, section))
    return "".join(section for _, section in kept), [path for path, _ in dropped]


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

"""Which non-test modules of a project the tests use as helpers (`pkg/testing.py`,
`pkg/_test_utils.py`, an assertion helper in `pkg/utils.py`): a patch that weakens one can make
failing tests pass without fixing anything, so the grader treats them as test set-up.

Found from the pristine tree on the host: start at the listed test files and the conftest.py
files above them, follow their imports within the project, and keep following through test
files and helpers. An imported non-test module is a helper if its name says so, if it imports a
test framework, or if, not being a top-level package or module, it gives the tests a function
or class that no other non-test module uses and that asserts or sits in a module the library
imports for something else. Other imported modules are the code under test: the search stops
there, and the package's own `__init__` never drags the whole library in.
"""

from __future__ import annotations

import ast
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from benchmarks.patches import is_test_path

TEST_FRAMEWORKS = frozenset({"pytest", "_pytest", "unittest", "hypothesis", "nose", "nose2"})
_TESTING_NAME = re.compile(r"(^|_)test(s|ing|utils?|_?helpers?|_?support)?(_|$)|^fixtures?$")


@dataclass
class _Module:
    path: str  # relative to the tree
    top_level: bool  # a top-level module or package: the library itself, as tests import it
    imports: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (module file, names)
    frameworks: bool = False  # imports a test framework
    identifiers: frozenset[str] = frozenset()  # every name it mentions
    functions: frozenset[str] = frozenset()  # the functions and classes it defines at top level
    asserting: frozenset[str] = frozenset()  # those of them that assert
    star_imports: frozenset[str] = frozenset()  # module files it star-imports


class _Project:
    """Every Python file of one pristine tree, parsed once."""

    def __init__(self, tree: Path, pythonpath: str) -> None:
        self.tree = tree
        self.roots = [tree / pythonpath, tree] if pythonpath else [tree]
        self.files = {str(p.relative_to(tree)) for p in tree.rglob("*.py")}
        self.modules: dict[str, _Module | None] = {}

    def module(self, path: str) -> _Module | None:
        if path not in self.modules:
            self.modules[path] = self._parse(path)
        return self.modules[path]

    def _parse(self, path: str) -> _Module | None:
        try:
            syntax = ast.parse((self.tree / path).read_text(errors="replace"))
        except (OSError, SyntaxError, ValueError):
            return None
        module = _Module(path, self._top_level(path))
        identifiers, stars = set(), set()
        for node in ast.walk(syntax):
            if isinstance(node, ast.Name):
                identifiers.add(node.id)
            elif isinstance(node, ast.Attribute):
                identifiers.add(node.attr)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    module.frameworks |= alias.name.split(".")[0] in TEST_FRAMEWORKS
                    for target in self._absolute(alias.name, path):
                        module.imports.append((target, ()))
            elif isinstance(node, ast.ImportFrom):
                names = tuple(a.name for a in node.names)
                identifiers.update(names)
                module.frameworks |= node.level == 0 and (node.module or "").split(".")[0] in TEST_FRAMEWORKS
                for target, imported in self._from(node, path):
                    module.imports.append((target, imported))
                    if "*" in imported:
                        stars.add(target)
        module.identifiers, module.star_imports = frozenset(identifiers), frozenset(stars)
        defined = [n for n in syntax.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        module.functions = frozenset(n.name for n in defined)
        module.asserting = frozenset(n.name for n in defined if any(_asserts(x) for x in ast.walk(n)))
        return module

    def _top_level(self, path: str) -> bool:
        for root in self.roots:
            try:
                parts = (self.tree / path).relative_to(root).parts
            except ValueError:
                continue
            return len(parts) == 1 or (len(parts) == 2 and parts[1] == "__init__.py")
        return False

    def _file(self, directory: Path, dotted: Iterable[str]) -> str | None:
        base = directory.joinpath(*dotted)
        for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
            try:
                relative = str(candidate.relative_to(self.tree))
            except ValueError:
                continue
            if relative in self.files:
                return relative
        return None

    def _search_dirs(self, importer: str) -> list[Path]:
        # pytest (rootdir-less "prepend" mode) puts a test file's first directory upwards that
        # is not a package on sys.path, so `import helpers` can name tests/helpers.py.
        base = (self.tree / importer).parent
        while (base / "__init__.py").exists() and base != self.tree:
            base = base.parent
        return [*self.roots, base]

    def _absolute(self, dotted: str, importer: str) -> list[str]:
        parts = dotted.split(".")
        found = []
        for directory in self._search_dirs(importer):
            for i in range(1, len(parts) + 1):
                target = self._file(directory, parts[:i])
                if target:
                    found.append(target)
            if found:
                break
        return found

    def _from(self, node: ast.ImportFrom, importer: str) -> list[tuple[str, tuple[str, ...]]]:
        names = tuple(a.name for a in node.names)
        parts = (node.module or "").split(".") if node.module else []
        if node.level:
            directory = (self.tree / importer).parents[node.level - 1]
            package = self._file(directory, parts) if parts else self._file(directory.parent, [directory.name])
            found = [(package, names)] if package else []
            base = directory.joinpath(*parts)
        else:
            modules = self._absolute(node.module or "", importer)
            found = [(m, ()) for m in modules[:-1]] + [(modules[-1], names)] if modules else []
            if not modules:
                return []
            base = (self.tree / modules[-1]).parent if modules[-1].endswith("__init__.py") else None
        # `from pkg import submodule` imports the submodule too
        for name in names:
            submodule = self._file(base, [name]) if base is not None else None
            if submodule:
                found.append((submodule, ()))
        return found

    def _library(self, besides: str) -> Iterator[_Module]:
        for path in sorted(self.files):
            module = self.module(path) if path != besides and not is_test_path(path) else None
            if module:
                yield module

    def used_outside(self, name: str, module_path: str) -> bool:
        """Whether a non-test module other than `module_path` uses `name`, or star-imports it."""
        return any(name in m.identifiers or module_path in m.star_imports for m in self._library(module_path))

    def imported_by_library(self, module_path: str) -> bool:
        return any(module_path == target for m in self._library(module_path) for target, _ in m.imports)


def _asserts(node: ast.AST) -> bool:
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.Raise) and node.exc is not None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        return isinstance(exc, ast.Name) and exc.id == "AssertionError"
    return False


@lru_cache(maxsize=32)
def _project(tree: Path, pythonpath: str) -> _Project:
    return _Project(tree, pythonpath)


# Graders run in threads: the parsed projects are shared, and CPython 3.11's ast.parse is not
# safe to run in two threads at once ("AST constructor recursion depth mismatch").
_LOCK = threading.Lock()


def helper_modules(tree: Path, pythonpath: str, test_files: Iterable[str],
                   code_under_test: Iterable[str] = ()) -> set[str]:
    """Paths (relative to `tree`) of the non-test modules `test_files` use as helpers, never one
    of `code_under_test` (the files the task's reference fix changes)."""
    with _LOCK:
        return _helpers(_project(tree, pythonpath), set(test_files), set(code_under_test))


def _helpers(project: _Project, test_files: set[str], excluded: set[str]) -> set[str]:
    roots = {f for f in test_files if f in project.files}
    for test_file in list(roots):
        directory = Path(test_file).parent
        for parent in (directory, *directory.parents):
            if str(parent / "conftest.py") in project.files:
                roots.add(str(parent / "conftest.py"))
    helpers: set[str] = set()
    seen, queue = set(roots), list(roots)
    while queue:
        module = project.module(queue.pop())
        for target, names in module.imports if module else ():
            if target in seen or target in excluded:
                continue
            if not is_test_path(target) and not _is_helper(project, target, names):
                continue  # code under test: its own imports are the library's business
            seen.add(target)
            queue.append(target)
            if not is_test_path(target):
                helpers.add(target)
    return helpers


def _is_helper(project: _Project, path: str, names: tuple[str, ...]) -> bool:
    module = project.module(path)
    if module is None:
        return False
    stem = Path(path).stem if Path(path).name != "__init__.py" else Path(path).parent.name
    if _TESTING_NAME.search(stem) or module.frameworks:
        return True
    if module.top_level:
        return False
    # A function only the tests use is a helper if it asserts, or if it sits in a module the
    # library imports for something else (toolz.utils: `no_default` for the library, `raises`
    # for the tests); a public submodule the library never imports is code under test.
    only_tests = [n for n in names if n in module.functions and not project.used_outside(n, path)]
    return any(n in module.asserting for n in only_tests) or (bool(only_tests) and project.imported_by_library(path))

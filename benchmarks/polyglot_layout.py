"""Reading aider's polyglot-benchmark layout: `<lang>/exercises/practice/<name>/`, whose
`.meta/config.json` names the solution, test and example (reference solution) files and whose
`.docs/instructions.md` (+ `instructions.append.md`) is the problem statement."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from benchmarks.patches import is_test_path
from benchmarks.suite import SuiteError

LANGUAGES = {"cpp": "C++", "go": "Go", "python": "Python", "rust": "Rust"}  # directory -> name
PRACTICE = Path("exercises", "practice")


class PolyglotError(SuiteError):
    """A Polyglot tree or one of its exercises is malformed; the message names the file and field."""


@dataclass(frozen=True)
class Exercise:
    language: str
    name: str
    directory: Path
    solution: tuple[str, ...]  # paths relative to `directory`, as .meta/config.json lists them
    tests: tuple[str, ...]
    example: tuple[str, ...]

    @property
    def instance_id(self) -> str:
        return f"polyglot__{self.language}__{self.name}"

    @property
    def config(self) -> Path:
        return self.directory / ".meta" / "config.json"

    def files(self) -> dict[str, str]:
        """The exercise as its tests run it: every file but the hidden `.meta/` and `.docs/` (the
        reference solution and the statement) and other dot-directories at its top."""
        files = {}
        for path in sorted(p for p in self.directory.rglob("*") if p.is_file()):
            rel = path.relative_to(self.directory)
            if len(rel.parts) > 1 and rel.parts[0].startswith("."):
                continue
            try:
                files[rel.as_posix()] = path.read_text()
            except UnicodeDecodeError as e:
                raise PolyglotError(f"{path}: not UTF-8 text ({e.reason}); exercises are text files") from e
        return files

    def is_test(self, path: str) -> bool:
        return path in self.tests or is_test_path(path) or path.endswith("_test.go")

    def agent_files(self) -> dict[str, str]:
        """What the agent works on: the exercise without its tests, which it never sees."""
        return {path: text for path, text in self.files().items() if not self.is_test(path)}

    def statement(self) -> str:
        docs = self.directory / ".docs"
        parts = [(docs / name).read_text().strip() for name in ("instructions.md", "instructions.append.md")
                 if (docs / name).exists()]
        editable = ", ".join(f"`{path}`" for path in self.solution)
        parts.append(f"Complete this {LANGUAGES[self.language]} exercise by editing {editable}. Its tests are not "
                     "in the repository while you work; they are put back and run once you submit. Keep the names "
                     "the stub defines, and use the language's standard library only.")
        return "\n\n".join(parts) + "\n"

    def gold_patch(self) -> str:
        """The reference solution written over the stubs, as a git-style diff."""
        return "".join(file_diff(solution, (self.directory / solution).read_text(),
                                 (self.directory / example).read_text())
                       for example, solution in self.example_targets())

    def example_targets(self) -> list[tuple[str, str]]:
        """(example file, the solution file it replaces), paired by file suffix and, where several
        share one, by their order in the config (`.meta/example.rs` -> `src/lib.rs`)."""
        pairs = []
        for suffix in dict.fromkeys(PurePosixPath(e).suffix for e in self.example):
            examples = [e for e in self.example if PurePosixPath(e).suffix == suffix]
            solutions = [s for s in self.solution if PurePosixPath(s).suffix == suffix]
            if len(examples) != len(solutions):
                raise PolyglotError(f"{self.config}: files.example {examples} cannot be matched to files.solution "
                                    f"{list(self.solution)}: each example needs one solution file with its suffix")
            pairs += zip(examples, solutions)
        return pairs

    def content_id(self) -> str:
        """A hash of the pristine exercise: which snapshot a task was made on."""
        h = hashlib.sha256()
        for path, text in self.files().items():
            h.update(path.encode() + b"\0" + text.encode() + b"\0")
        return h.hexdigest()[:12]


def file_diff(path: str, before: str, after: str) -> str:
    """A git-style diff of one file; a last line without a newline is marked as git marks it."""
    lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True), f"a/{path}", f"b/{path}")
    body = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return f"diff --git a/{path} b/{path}\n{body}" if body else ""


def find_exercises(root: Path) -> list[Exercise]:
    """Every exercise under `root`: a checkout (`<lang>/exercises/practice/<name>/`) or one
    language's directory (`exercises/practice/<name>/`)."""
    if not root.is_dir():
        raise PolyglotError(f"polyglot suite {root}: not a directory")
    if (root / PRACTICE).is_dir():
        languages = [root]
    else:
        languages = sorted(d for d in root.iterdir() if (d / PRACTICE).is_dir())
    if not languages:
        raise PolyglotError(f"polyglot suite {root}: no <language>/{PRACTICE.as_posix()}/ directories in it")
    exercises = []
    for language in languages:
        if language.name not in LANGUAGES:
            raise PolyglotError(f"{language}: language {language.name!r} is not supported (supported: "
                                f"{', '.join(LANGUAGES)}); point the suite at a tree holding only those")
        for directory in sorted(d for d in (language / PRACTICE).iterdir() if d.is_dir()):
            exercises.append(read_exercise(language.name, directory))
    return exercises


def read_exercise(language: str, directory: Path) -> Exercise:
    config = directory / ".meta" / "config.json"
    if not config.exists():
        raise PolyglotError(f"{directory}: exercise has no .meta/config.json")
    try:
        files = json.loads(config.read_text())["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise PolyglotError(f"{config}: not a JSON object with a 'files' object ({e!r})") from e
    if not isinstance(files, dict):
        raise PolyglotError(f"{config}: field 'files' must be an object")
    named = {key: _paths(files, key, config, directory) for key in ("solution", "test", "example")}
    if not (directory / ".docs" / "instructions.md").exists():
        raise PolyglotError(f"{directory}: exercise has no .docs/instructions.md (its problem statement)")
    exercise = Exercise(language, directory.name, directory, named["solution"], named["test"], named["example"])
    exercise.example_targets()  # checked now, so a bad config fails at load, not at grading
    return exercise


def _paths(files: dict, key: str, config: Path, directory: Path) -> tuple[str, ...]:
    value = files.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(p, str) and p for p in value):
        raise PolyglotError(f"{config}: files.{key} must be a non-empty list of paths, not {value!r}")
    for path in value:
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts:
            raise PolyglotError(f"{config}: files.{key}: {path!r} must be a path inside the exercise")
        if not (directory / path).is_file():
            raise PolyglotError(f"{config}: files.{key} names {path}, which does not exist")
    return tuple(value)

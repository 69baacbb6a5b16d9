"""Reading aider's polyglot-benchmark layout: `<lang>/exercises/practice/<name>/`, whose
`.meta/config.json` names the solution, test and example (reference solution) files and whose
`.docs/` (introduction, instructions, appendix) is the problem statement."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from benchmarks.patches import is_test_path
from benchmarks.polyglot_toolchains import TOOLCHAINS, adapt_config
from benchmarks.real_fixes import file_diff
from benchmarks.suite import SuiteError

LANGUAGES = {"cpp": "C++", "go": "Go", "java": "Java", "javascript": "JavaScript", "python": "Python",
             "rust": "Rust"}  # directory -> name
PRACTICE = Path("exercises", "practice")
# Gradle's wrapper (a script and a jar): the Java tests run without Gradle, so it is left out.
GRADLE_WRAPPER = ("gradlew", "gradlew.bat", "gradle/")
# Aider's words after the statement, with the solution files; the sentence after is dgm's.
ADDENDUM = """####

Use the above instructions to modify the supplied files: {files}
Don't change the names of existing functions or classes, as they may be referenced from other code like unit tests, etc.
Only use standard libraries, don't suggest installing any packages.

The tests are not in the repository while you work; they are put back and run once you submit.
"""


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
        reference solution and the statement), other dot-directories at its top and Gradle's
        wrapper; configuration that names npm-only packages adapted to the image's."""
        files = {}
        for path in sorted(p for p in self.directory.rglob("*") if p.is_file()):
            rel = path.relative_to(self.directory)
            name = rel.as_posix()
            if len(rel.parts) > 1 and rel.parts[0].startswith(".") or name.startswith(GRADLE_WRAPPER):
                continue
            try:
                files[name] = adapt_config(self.language, name, path.read_text())
            except UnicodeDecodeError as e:
                raise PolyglotError(f"{path}: not UTF-8 text ({e.reason}); exercises are text files") from e
        return files

    def graded_files(self) -> dict[str, str]:
        """The exercise as grading runs it: its test files with every test switched on (aider's
        rewrites: Java's `@Disabled` removed, JavaScript's `xtest` made `test`)."""
        enable = TOOLCHAINS[self.language].enable_tests
        return {path: enable(text) if path in self.tests else text for path, text in self.files().items()}

    def runner_tests(self) -> dict[str, str]:
        """The test files the runner runs, as grading has them: those `.meta/config.json` lists,
        and for Go every other `_test.go` file too (go test runs them all: robot-simulator's
        config lists one of its three)."""
        return {path: text for path, text in self.graded_files().items()
                if path in self.tests or self.language == "go" and path.endswith("_test.go")}

    def is_test(self, path: str) -> bool:
        return path in self.tests or is_test_path(path) or path.endswith("_test.go")

    def agent_files(self) -> dict[str, str]:
        """What the agent works on: the exercise without its tests, which it never sees."""
        return {path: text for path, text in self.files().items() if not self.is_test(path)}

    def statement(self) -> str:
        """As aider and DGM give it: introduction, instructions and appendix, then aider's words
        naming the solution files."""
        docs = self.directory / ".docs"
        parts = [(docs / name).read_text().strip()
                 for name in ("introduction.md", "instructions.md", "instructions.append.md")
                 if (docs / name).exists()]
        parts.append(ADDENDUM.format(files=" ".join(self.solution)))
        return "\n\n".join(parts)

    def gold_patch(self) -> str:
        """The reference solution written over the stubs, as a git-style diff; a Rust reference's
        `.meta/Cargo-example.toml` (the crates it uses) replaces `Cargo.toml`. A reference's copy
        of a provided file that is not a solution file (Java's `Winner.java`) is not written."""
        pairs = [(example, target) for example, target in self.example_targets()
                 if target in self.solution or not (self.directory / target).exists()]
        if (self.directory / ".meta" / "Cargo-example.toml").is_file() and "Cargo.toml" in self.solution:
            pairs.append((".meta/Cargo-example.toml", "Cargo.toml"))
        return "".join(file_diff(target, _read(self.directory / target), (self.directory / example).read_text())
                       for example, target in pairs)

    def example_targets(self) -> list[tuple[str, str]]:
        """(example file, the file it writes): the solution file of the same name (Java's
        `.meta/src/reference/java/Bob.java` -> `src/main/java/Bob.java`), else one with its suffix,
        in config order (`.meta/example.rs` -> `src/lib.rs`); an example left over is a helper the
        reference adds beside the solution files of its suffix (Java's `Frame.java`)."""
        solutions = list(self.solution)
        pairs, rest = [], []
        for example in self.example:
            named = [s for s in solutions if PurePosixPath(s).name == PurePosixPath(example).name]
            if named:
                pairs.append((example, named[0]))
                solutions.remove(named[0])
            else:
                rest.append(example)
        for example in rest:
            suffix = PurePosixPath(example).suffix
            same = [s for s in solutions if PurePosixPath(s).suffix == suffix]
            beside = [s for s in self.solution if PurePosixPath(s).suffix == suffix]
            if same:
                pairs.append((example, same[0]))
                solutions.remove(same[0])
            elif beside:
                pairs.append((example, str(PurePosixPath(beside[0]).parent / PurePosixPath(example).name)))
            else:
                raise PolyglotError(f"{self.config}: files.example names {example}, but files.solution "
                                    f"{list(self.solution)} has no file with its suffix {suffix!r} to replace")
        return pairs

    def is_new_class(self, path: str) -> bool:
        """A Java class file the graded patch may add beside the solution files: Java wants a file
        per public class, and six references bring helper classes (`Frame.java`). DGM's harness
        keeps only the listed files; no other language's reference needs more."""
        pure = PurePosixPath(path)
        return self.language == "java" and pure.suffix == ".java" and not self.is_test(path) and any(
            PurePosixPath(s).parent == pure.parent for s in self.solution)

    def content_id(self) -> str:
        """A hash of the pristine exercise: which snapshot a task was made on."""
        h = hashlib.sha256()
        for path, text in self.files().items():
            h.update(path.encode() + b"\0" + text.encode() + b"\0")
        return h.hexdigest()[:12]


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


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

"""How each Polyglot language is built and tested offline in the polyglot image, how many tests
its test files declare, what its runner's own summary says, and how a failed run is told apart:
configure or build failed, a dependency is missing, the code does not compile, or n of m tests
failed.

The commands are aider's (`cargo test -- --include-ignored`, `go test ./...`, pytest, CMake with
every test enabled), except Java and JavaScript, which run without Gradle and npm: javac and the
JUnit console launcher against Debian's jars, and Debian's jest with Debian's babel.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

import tree_sitter_rust
from tree_sitter import Language, Parser

# The jars a Java exercise may use (Debian's junit5 and libassertj-core-java), by the Gradle
# coordinates its build.gradle names them with, and what else exercises ask for that Debian lacks.
_JARS = "/usr/share/java/"
JAVA_JARS = {
    "org.junit.jupiter:junit-jupiter": ("junit-jupiter-api.jar", "junit-jupiter-params.jar", "apiguardian-api.jar",
                                        "opentest4j.jar", "junit-platform-commons.jar"),
    "org.assertj:assertj-core": ("assertj-core.jar", "byte-buddy.jar"),
}
JAVA_MISSING = {
    "io.reactivex.rxjava2:rxjava": "Debian does not package RxJava 2",
    "org.json:json": "Debian packages only Android's org.json, whose JSONException is a checked exception "
                     "the tests do not catch",
}
JAVA_CLASSPATH = ":".join(_JARS + jar for jars in JAVA_JARS.values() for jar in jars)
JUNIT_CONSOLE = _JARS + "junit-platform-console-standalone.jar"
_GRADLE_DEPENDENCY = re.compile(r"""^\s*\w*[Ii]mplementation\s+(?:platform\()?["']([^:"']+:[^:"']+)""", re.M)
# The Exercism preset is on npm only; Debian's babel has preset-env, which it wraps.
EXERCISM_BABEL_PRESET = re.compile(r"""(["'])@exercism/babel-preset-javascript\1""")
DEBIAN_BABEL_PRESET = "['/usr/share/nodejs/@babel/preset-env', { targets: { node: 'current' } }]"


@dataclass(frozen=True)
class Tally:
    """What the runner's own summary says: tests passed and tests failed (errors included);
    skipped, ignored or aborted tests are in neither."""

    passed: int
    failed: int


@dataclass(frozen=True)
class Toolchain:
    """Shell run in the exercise's directory. `configure` and `build` fail the grading before any
    test runs; `test` exits 0 when every test passed. {tests}: the test files; {solution}: the
    solution files; {name}: the exercise's directory name; {classes}: the test classes (Java)."""

    test: str
    # how many tests the pristine test files declare, counted statically ({path: text} of the
    # test files, every test switched on): a run that passed fewer did not run them all
    declared: Callable[[dict[str, str]], int]
    # the runner's last summary in the test phase's output (None: it printed none), given the
    # test files: a summary counts only the tests of the test files' own targets
    tally: Callable[[str, tuple[str, ...]], Tally | None]
    build: str = ""
    configure: str = ""
    prepare: str = ""  # run untimed before the phases, and before the agent starts
    # what makes a failure "missing dependency" rather than a compile error
    missing: tuple[str, ...] = ()
    enable_tests: Callable[[str], str] = lambda text: text  # a test file, every test switched on


def _sum(pattern: str, output: str) -> int:
    return sum(int(n) for n in re.findall(pattern, output))


def _count(pattern: str, tests: dict[str, str]) -> int:
    return sum(len(re.findall(pattern, text, re.M)) for text in tests.values())


def _pytest_tally(output: str, tests: tuple[str, ...]) -> Tally | None:
    summaries = re.findall(r"^.*\b\d+ (?:passed|failed|skipped|errors?|deselected)\b.* in [\d.]+s\b.*$", output, re.M)
    if not summaries:
        return None
    last = summaries[-1]  # pytest's own summary ends its output
    return Tally(_sum(r"(\d+) passed", last), _sum(r"(\d+) failed", last) + _sum(r"(\d+) errors?\b", last))


def _pytest_declared(tests: dict[str, str]) -> int:
    # exercises' tests are unittest methods or pytest functions, one test each (no parametrize)
    return _count(r"^[ \t]*(?:async[ \t]+)?def[ \t]+test\w*[ \t]*\(", tests)


# go test -v: a top-level test's verdict starts its line; subtests' (t.Run) are indented
_GO_VERDICT = re.compile(r"^--- (PASS|FAIL): ((?:Test|Fuzz)\w*)", re.M)


def _go_tally(output: str, tests: tuple[str, ...]) -> Tally | None:
    """The top-level verdicts, once the go command's own line for the package (`ok  pkg 0.1s`,
    `FAIL pkg 0.1s`) says the test binary ended: a package with no tests has verdicts of none."""
    if not re.search(r"^(?:ok|FAIL)\s+\S+\s+[\d.]+s\b", output, re.M):
        return None
    verdicts = _GO_VERDICT.findall(output)
    failed = sum(v == "FAIL" for v, _ in verdicts)
    return Tally(len(verdicts) - failed, failed)


def _go_declared(tests: dict[str, str]) -> int:
    # top-level tests only: subtests are data (a table's rows), TestMain runs the others; of the
    # files a plain `go test` builds (robot-simulator's step tests do, two-bucket's bonus does not)
    built = {path: text for path, text in tests.items() if _go_builds(text)}
    return _count(r"^func[ \t]+(?!TestMain\b)(?:Test|Fuzz)\w*[ \t]*\(\s*\w+[ \t]+\*testing\.[TF]\s*\)", built)


_GO_TRUE_TAGS = {"linux", "amd64", "unix", "gc", "cgo"}


def _go_builds(text: str) -> bool:
    """Whether a Go file's `//go:build` line holds with no tags set, on linux/amd64 (any go1.N
    holds: the image's Go is newer than exercises ask)."""
    line = re.search(r"^//go:build[ \t]+(.+)$", re.split(r"^package ", text, maxsplit=1, flags=re.M)[0], re.M)
    if not line:
        return True
    expr = re.sub(r"[\w.]+", lambda m: str(m.group(0) in _GO_TRUE_TAGS or bool(re.fullmatch(r"go1\.\d+", m.group(0)))),
                  line.group(1))
    if not re.fullmatch(r"(?:True|False|&&|\|\||[!() \t])*", expr):
        return True  # not a constraint as Go writes them: go test would refuse it, not skip the file
    # only True, False, not, and, or and parentheses are left to evaluate
    return bool(eval(expr.replace("&&", " and ").replace("||", " or ").replace("!", " not "), {"__builtins__": {}}))


def _cargo_tally(output: str, tests: tuple[str, ...]) -> Tally | None:
    """The `test result` of each test file's own target (`Running tests/x.rs (...)`), not the
    library's unit tests or doc-tests, which the solution writes."""
    passed = failed = 0
    found = False
    for test in tests:
        runs = list(re.finditer(rf"^\s*Running {re.escape(test)} \(", output, re.M))
        if not runs:
            continue
        # up to cargo's next target, whose header may follow a line the binary left unfinished
        section = re.split(r"\s(?:Running|Doc-tests) ", output[runs[-1].end():], maxsplit=1)[0]
        result = re.search(r"^test result: \w+\. (\d+) passed; (\d+) failed", section, re.M)
        if result:
            found = True
            passed, failed = passed + int(result.group(1)), failed + int(result.group(2))
    return Tally(passed, failed) if found else None


_RUST = Language(tree_sitter_rust.language())


def _rust_declared(tests: dict[str, str]) -> int:
    """`#[test]` functions, less those a `#[cfg(feature = ...)]` switches off (on the function, on
    a module around it, or `#![cfg(feature = ...)]` inside one): aider's `cargo test` enables no
    feature. Parsed by tree-sitter, so a `#[test]` or brace in a comment, string or char literal
    is not code; tests a macro would generate are not counted (the benchmark has none)."""
    parser = Parser(_RUST)

    def attribute(node) -> str:  # `#[cfg(feature = "x")]` -> `cfg(feature="x")`
        return re.sub(r"\s", "", node.text.decode()).removeprefix("#!").removeprefix("#").strip("[]")

    def count(items, gated: bool) -> int:
        found, attrs = 0, []
        for item in items.named_children:
            if item.type in ("line_comment", "block_comment"):
                continue
            if item.type == "inner_attribute_item":
                gated = gated or attribute(item).startswith("cfg(feature")
            elif item.type == "attribute_item":
                attrs.append(attribute(item))
                continue
            off = gated or any(a.startswith("cfg(feature") for a in attrs)
            if item.type == "function_item":
                found += "test" in attrs and not off
            elif item.type == "mod_item" and item.child_by_field_name("body") is not None:
                found += count(item.child_by_field_name("body"), off)
            attrs = []
        return found

    return sum(count(parser.parse(text.encode()).root_node, False) for text in tests.values())


def _catch_tally(output: str, tests: tuple[str, ...]) -> Tally | None:
    summaries = list(re.finditer(r"^(?:test cases:\s*(\d+) \|(?: \d+ passed \|)? (\d+) failed"
                                 r"|All tests passed \(\d+ assertions? in (\d+) test cases?\))", output, re.M))
    if not summaries:
        return None
    last = summaries[-1]
    if last.group(3):
        return Tally(int(last.group(3)), 0)
    return Tally(int(last.group(1)) - int(last.group(2)), int(last.group(2)))


# what the grading's CMake run defines (-DEXERCISM_RUN_ALL_TESTS=1); EXERCISM_TEST_SUITE (a system
# Catch) and EXERCISM_INCLUDE_BENCHMARK (parallel-letter-frequency's benchmark) stay undefined
_CPP_DEFINED = {"EXERCISM_RUN_ALL_TESTS"}
_CPP_CONDITION = re.compile(r"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b(.*)$")


def _cpp_holds(directive: str, condition: str) -> bool:
    """Whether a preprocessor condition holds: `#ifdef X`, `#ifndef X`, `#if [!]defined(X)` and
    `#if X` on the macros above; anything else (not in the benchmark) is taken to hold."""
    if directive in ("ifdef", "ifndef"):
        return (condition.split()[0] in _CPP_DEFINED) == (directive == "ifdef")
    simple = re.fullmatch(r"\s*(!?)\s*(?:defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)|(\w+))\s*", condition)
    if not simple:
        return True
    negated, *names = simple.groups()
    return ((next(n for n in names if n) in _CPP_DEFINED) or condition.strip().isdigit() and condition.strip() != "0") != bool(negated)


def _catch_declared(tests: dict[str, str]) -> int:
    """`TEST_CASE(` lines the preprocessor keeps, with every test switched on (most test files put
    all but the first in `#if defined(EXERCISM_RUN_ALL_TESTS)`)."""
    count = 0
    for text in tests.values():
        stack: list[tuple[bool, bool]] = []  # (this branch is live, some branch of this #if was)
        for line in text.splitlines():
            directive = _CPP_CONDITION.match(line)
            live = all(branch for branch, _ in stack)
            if directive:
                kind, condition = directive.groups()
                if kind in ("if", "ifdef", "ifndef"):
                    holds = _cpp_holds(kind, condition)
                    stack.append((holds, holds))
                elif kind == "elif" and stack:
                    holds = not stack[-1][1] and _cpp_holds("if", condition)
                    stack[-1] = (holds, stack[-1][1] or holds)
                elif kind == "else" and stack:
                    stack[-1] = (not stack[-1][1], True)
                elif kind == "endif" and stack:
                    stack.pop()
            elif live and re.match(r"[ \t]*TEST_CASE[ \t]*\(", line):
                count += 1
    return count


def _junit_tally(output: str, tests: tuple[str, ...]) -> Tally | None:
    ends = list(re.finditer(r"\[\s*\d+ tests found", output))
    if not ends:
        return None
    summary = output[ends[-1].start():]  # the console launcher's last summary
    successful = re.search(r"\[\s*(\d+) tests successful", summary)
    failed = re.search(r"\[\s*(\d+) tests failed", summary)
    return Tally(int(successful.group(1)) if successful else 0, int(failed.group(1)) if failed else 0)


def _junit_declared(tests: dict[str, str]) -> int:
    return _count(r"@Test\b(?![.\w])", tests)


def _jest_tally(output: str, tests: tuple[str, ...]) -> Tally | None:
    lines = re.findall(r"^Tests:\s+(.*\d+ total)", output, re.M)
    if not lines:
        return None
    passed, failed = (re.search(rf"(\d+) {word}", lines[-1]) for word in ("passed", "failed"))
    return Tally(int(passed.group(1)) if passed else 0, int(failed.group(1)) if failed else 0)


def _jest_declared(tests: dict[str, str]) -> int:
    # `test(` and `it(` calls (skipped ones, `test.skip(`, are not run); not `regex.test(`
    return _count(r"(?<![.\w$])(?:test|it)[ \t]*\(", tests)


def _java_enable(text: str) -> str:
    """Aider's: every `@Disabled(...)` line removed, so the whole suite runs."""
    return re.sub(r"^[ \t]*@Disabled(\([^)]*\))?[ \t]*\n", "", text, flags=re.M)


def _javascript_enable(text: str) -> str:
    """Aider's: `xtest(` (a skipped test) becomes `test(`; and so `xit(` becomes `it(` (grep's)."""
    return re.sub(r"\bx(test|it)\(", r"\1(", text)


# Rust's Cargo.toml is a solution file (it names the crates a solution uses, as in DGM), so a
# patch may rewrite it: checked before anything is built, it may not declare what runs code before
# the tests or stands in for them (a build script, its own targets, path or git crates). Written
# without braces: the command is a format string.
_CARGO_CHECK = """import sys, tomllib
m = tomllib.load(open('Cargo.toml', 'rb'))
bad = ['[' + t + ']' for t in m if t not in ('package', 'dependencies', 'dev-dependencies', 'features', 'lints')]
bad += ['package.' + k for k in m.get('package', dict()) if k in ('build', 'links', 'workspace', 'default-run',
        'autolib', 'autobins', 'autotests', 'autoexamples', 'autobenches')]
bad += [t + '.' + n + '.' + k for t in ('dependencies', 'dev-dependencies') for n, d in m.get(t, dict()).items()
        if isinstance(d, dict) for k in d if k in ('path', 'git')]
if bad:
    sys.exit('error: Cargo.toml may not set ' + ', '.join(bad) + ' (it would run code before the tests or replace them)')
"""

TOOLCHAINS = {
    "python": Toolchain(
        build="python -m py_compile {solution}",
        test='python -m pytest -q -p no:cacheprovider -o addopts="" {tests}',
        missing=(r"ModuleNotFoundError: No module named '[^']+'",), declared=_pytest_declared, tally=_pytest_tally),
    "go": Toolchain(
        prepare='mkdir -p "$GOCACHE" && cp -r /opt/go-cache/. "$GOCACHE"',  # the image's warm build cache
        build="go test -count=1 -run '^$' ./...",  # compiles the tests, runs none
        test="go test -count=1 -v ./...",
        missing=(r"no required module provides package \S+", r"cannot find module providing package \S+",
                 r"package \S+ is not in std"),
        declared=_go_declared, tally=_go_tally),
    "rust": Toolchain(
        configure=f"python3 -I -S -c {shlex.quote(_CARGO_CHECK)}",
        build="cargo test --offline --no-run",
        test="cargo test --offline -- --include-ignored",
        missing=(r"no matching package named `[^`]+` found", r"failed to select a version for the requirement `[^`]+`",
                 r"use of (?:undeclared crate or module|unresolved module or unlinked crate) `[^`]+`"),
        declared=_rust_declared, tally=_cargo_tally),
    "cpp": Toolchain(
        configure='cmake -S . -B /tmp/build -G "Unix Makefiles" -DEXERCISM_RUN_ALL_TESTS=1',
        build="cmake --build /tmp/build --target {name}",
        test="/tmp/build/{name}",
        missing=(r"Could NOT find \S+", r'Could not find a package configuration file provided by "[^"]+"',
                 r"fatal error: \S+: No such file or directory"),
        declared=_catch_declared, tally=_catch_tally),
    "java": Toolchain(
        build=f"mkdir -p /tmp/classes && javac -encoding UTF-8 -nowarn -d /tmp/classes -cp {JAVA_CLASSPATH} "
              "$(find src -name '*.java')",
        # the test classes by name, not a scan of every class: a solution's own @Test class stays out
        test=f"java -jar {JUNIT_CONSOLE} execute -cp /tmp/classes:{JAVA_CLASSPATH} {{classes}} "
             "--disable-banner --details=tree --disable-ansi-colors",
        missing=(r"error: package \S+ does not exist",),
        declared=_junit_declared, tally=_junit_tally, enable_tests=_java_enable),
    "javascript": Toolchain(
        # jest's 5 s per test fails worker-thread exercises on a loaded machine; the grading has its own limit
        test="jest --ci --cacheDirectory=/tmp/jest-cache --testTimeout=60000 {tests}",
        missing=(r"Cannot find module '[^.'][^']*'",),
        declared=_jest_declared, tally=_jest_tally, enable_tests=_javascript_enable),
}


def adapt_config(language: str, path: str, text: str) -> str:
    """An exercise file as it must read to run offline: JavaScript's babel config names Debian's
    preset-env in place of the npm-only Exercism preset (which is preset-env for current node)."""
    if language == "javascript" and path == "babel.config.js":
        return EXERCISM_BABEL_PRESET.sub(DEBIAN_BABEL_PRESET, text)
    return text


def offline_problem(language: str, files: dict[str, str]) -> str | None:
    """Why the exercise cannot run offline in the polyglot image, if it cannot: a Java build that
    declares a library the image does not hold."""
    if language != "java" or "build.gradle" not in files:
        return None
    unknown = [d for d in _GRADLE_DEPENDENCY.findall(files["build.gradle"])
               if d not in JAVA_JARS and d != "org.junit:junit-bom"]
    if unknown:
        why = "; ".join(JAVA_MISSING.get(d, f"the image has no {d}") for d in unknown)
        return f"cannot run offline: build.gradle needs {', '.join(unknown)} ({why})"
    return None


def failure_reason(toolchain: Toolchain, phase: str, exit_code: int, output: str, seconds: int,
                   tests: tuple[str, ...]) -> str:
    """Why a run that stopped in `phase` (configure, build or tests) with `exit_code` did not pass."""
    if exit_code == 124:
        return f"timeout: the {phase} ran past {seconds} s"
    for pattern in toolchain.missing:
        found = re.search(pattern, output)
        if found:
            return f"missing dependency: {found.group(0)}"
    if phase == "configure":
        return f"configure failed: {_first_error(output)}"
    if phase == "build":
        return f"compile error: {_first_error(output)}"
    tally = toolchain.tally(output, tests)
    if tally and tally.failed:
        return f"tests failed: {tally.failed} of {tally.passed + tally.failed} failed"
    if re.search(r"Test suite failed to run|SyntaxError|ERROR collecting", output):
        return f"compile error: {_first_error(output)}"
    if tally is None:  # the runner died before its summary (a crashed JVM, a killed binary)
        return f"the test run ended before its summary (exit {exit_code}): {_first_error(output)}"
    return f"tests failed (exit {exit_code}), {tally.passed} passed"


def unproven_reason(toolchain: Toolchain, output: str, tests: dict[str, str]) -> str | None:
    """Why a test run that exited 0 does not prove the solution, if it does not: the runner's own
    summary must be in its output, with no test failed and exactly as many passed as the test
    files declare (a run that ended early, skipped tests or found none exits 0 too)."""
    tally = toolchain.tally(output, tuple(tests))
    if tally is None:
        return "the test run ended before its summary (exit 0)"
    if tally.failed:
        return f"tests failed: {tally.failed} of {tally.passed + tally.failed} failed (yet exit 0)"
    declared = toolchain.declared(tests)
    if tally.passed < declared:
        return f"{tally.passed} of {declared} tests ran and passed (exit 0): the rest did not run"
    if tally.passed > declared:
        return f"{tally.passed} tests passed where the test files declare {declared}: tests not theirs ran"
    return None


def java_classes(tests: dict[str, str]) -> str:
    """`--select-class` options for the Java test files' classes (named after their files, in
    the file's package)."""
    options = []
    for path, text in tests.items():
        if path.endswith(".java"):
            package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.M)
            name = path.rsplit("/", 1)[-1].removesuffix(".java")
            options.append(f"--select-class {package.group(1) + '.' if package else ''}{name}")
    return " ".join(options)


def _first_error(output: str) -> str:
    for line in output.splitlines():
        if re.search(r"\berror\b|Error:", line, re.I) and not line.startswith("[dgm]"):
            return line.strip()[:200]
    return "(no error line in the output)"

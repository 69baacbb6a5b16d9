"""How each Polyglot language is built and tested offline in the polyglot image, and how a failed
run is told apart: configure or build failed, a dependency is missing, the code does not compile,
or n of m tests failed.

The commands are aider's (`cargo test -- --include-ignored`, `go test ./...`, pytest, CMake with
every test enabled), except Java and JavaScript, which run without Gradle and npm: javac and the
JUnit console launcher against Debian's jars, and Debian's jest with Debian's babel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

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
class Toolchain:
    """Shell run in the exercise's directory. `configure` and `build` fail the grading before any
    test runs; `test` exits 0 when every test passed. {tests}: the test files; {solution}: the
    solution files; {name}: the exercise's directory name."""

    test: str
    build: str = ""
    configure: str = ""
    prepare: str = ""  # run untimed before the phases, and before the agent starts
    # what makes a failure "missing dependency" rather than a compile error
    missing: tuple[str, ...] = ()
    counts: Callable[[str], tuple[int, int] | None] = lambda output: None  # (failed, total)
    enable_tests: Callable[[str], str] = lambda text: text  # a test file, every test switched on


def _sum(pattern: str, output: str) -> int:
    return sum(int(n) for n in re.findall(pattern, output))


def _pytest_counts(output: str) -> tuple[int, int] | None:
    summaries = re.findall(r"^.*\b\d+ (?:passed|failed|errors?)\b.* in [\d.]+s\b.*$", output, re.M)
    last = summaries[-1] if summaries else ""  # pytest's own summary, not a test's printout
    failed = _sum(r"(\d+) failed", last) + _sum(r"(\d+) errors?\b", last)
    passed = _sum(r"(\d+) passed", last)
    return (failed, failed + passed) if failed + passed else None


def _go_counts(output: str) -> tuple[int, int] | None:
    failed = len(re.findall(r"^\s*--- FAIL:", output, re.M))
    total = failed + len(re.findall(r"^\s*--- PASS:", output, re.M))
    return (failed, total) if total else None


def _cargo_counts(output: str) -> tuple[int, int] | None:
    results = re.findall(r"^test result: \w+\. (\d+) passed; (\d+) failed", output, re.M)
    failed = sum(int(f) for _, f in results)
    total = failed + sum(int(p) for p, _ in results)
    return (failed, total) if total else None


def _catch_counts(output: str) -> tuple[int, int] | None:
    failed = re.search(r"^test cases:\s*(\d+) \|(?: (\d+) passed \|)? (\d+) failed", output, re.M)
    if failed:
        return int(failed.group(3)), int(failed.group(1))
    passed = re.search(r"^All tests passed \(\d+ assertions? in (\d+) test cases?\)", output, re.M)
    return (0, int(passed.group(1))) if passed else None


def _junit_counts(output: str) -> tuple[int, int] | None:
    found = re.search(r"\[\s*(\d+) tests found", output)
    failed = re.search(r"\[\s*(\d+) tests failed", output)
    return (int(failed.group(1)) if failed else 0, int(found.group(1))) if found else None


def _jest_counts(output: str) -> tuple[int, int] | None:
    line = re.search(r"^Tests:\s+(.*\d+ total)", output, re.M)
    if not line:
        return None
    failed = re.search(r"(\d+) failed", line.group(1))
    return int(failed.group(1)) if failed else 0, int(re.search(r"(\d+) total", line.group(1)).group(1))


def _java_enable(text: str) -> str:
    """Aider's: every `@Disabled(...)` line removed, so the whole suite runs."""
    return re.sub(r"^[ \t]*@Disabled(\([^)]*\))?[ \t]*\n", "", text, flags=re.M)


def _javascript_enable(text: str) -> str:
    """Aider's: `xtest(` (a skipped test) becomes `test(`."""
    return re.sub(r"\bxtest\(", "test(", text)


TOOLCHAINS = {
    "python": Toolchain(
        build="python -m py_compile {solution}",
        test='python -m pytest -q -p no:cacheprovider -o addopts="" {tests}',
        missing=(r"ModuleNotFoundError: No module named '[^']+'",), counts=_pytest_counts),
    "go": Toolchain(
        prepare='mkdir -p "$GOCACHE" && cp -r /opt/go-cache/. "$GOCACHE"',  # the image's warm build cache
        build="go test -count=1 -run '^$' ./...",  # compiles the tests, runs none
        test="go test -count=1 -v ./...",
        missing=(r"no required module provides package \S+", r"cannot find module providing package \S+",
                 r"package \S+ is not in std"),
        counts=_go_counts),
    "rust": Toolchain(
        build="cargo test --offline --no-run",
        test="cargo test --offline -- --include-ignored",
        missing=(r"no matching package named `[^`]+` found", r"failed to select a version for the requirement `[^`]+`",
                 r"use of (?:undeclared crate or module|unresolved module or unlinked crate) `[^`]+`"),
        counts=_cargo_counts),
    "cpp": Toolchain(
        configure='cmake -S . -B /tmp/build -G "Unix Makefiles" -DEXERCISM_RUN_ALL_TESTS=1',
        build="cmake --build /tmp/build --target {name}",
        test="/tmp/build/{name}",
        missing=(r"Could NOT find \S+", r'Could not find a package configuration file provided by "[^"]+"',
                 r"fatal error: \S+: No such file or directory"),
        counts=_catch_counts),
    "java": Toolchain(
        build=f"mkdir -p /tmp/classes && javac -encoding UTF-8 -nowarn -d /tmp/classes -cp {JAVA_CLASSPATH} "
              "$(find src -name '*.java')",
        test=f"java -jar {JUNIT_CONSOLE} execute -cp /tmp/classes:{JAVA_CLASSPATH} --scan-class-path /tmp/classes "
             "--disable-banner --details=tree --disable-ansi-colors",
        missing=(r"error: package \S+ does not exist",),
        counts=_junit_counts, enable_tests=_java_enable),
    "javascript": Toolchain(
        # jest's 5 s per test fails worker-thread exercises on a loaded machine; the grading has its own limit
        test="jest --ci --cacheDirectory=/tmp/jest-cache --testTimeout=60000 {tests}",
        missing=(r"Cannot find module '[^.'][^']*'",),
        counts=_jest_counts, enable_tests=_javascript_enable),
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


def failure_reason(toolchain: Toolchain, phase: str, exit_code: int, output: str, seconds: int) -> str:
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
    counts = toolchain.counts(output)
    if counts and counts[0]:
        return f"tests failed: {counts[0]} of {counts[1]} failed"
    if re.search(r"Test suite failed to run|SyntaxError|ERROR collecting", output):
        return f"compile error: {_first_error(output)}"
    return f"tests failed (exit {exit_code}){f', {counts[1]} passed' if counts else ''}"


def _first_error(output: str) -> str:
    for line in output.splitlines():
        if re.search(r"\berror\b|Error:", line, re.I) and not line.startswith("[dgm]"):
            return line.strip()[:200]
    return "(no error line in the output)"

"""Running a repository's tests: which ids an issue names, and one pytest run with outcomes,
coverage and traceback frames read back from the spectrum plugin."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tools.bash import python_command, run_argv

PLUGIN = "dgm_repair_spectrum"  # the module name the plugin is loaded under, outside the repo
SNIPPETS = "dgm_repair_snippets"  # the module name generated reproduction tests import snippet_runner as
OUTPUT_CAP = 2_000_000  # characters of pytest's output kept (head and tail); outcomes come from the report
# A pytest node id: a .py path, then ::parts; quoted ids may hold spaces inside [params].
QUOTED_ID = re.compile(r"""["'`]([\w./-]+\.py(?:::[^"'`\n]+)+)["'`]""")
BARE_ID = re.compile(r"(?<![\w./-])([\w./-]+\.py(?:::[\w.-]+)+(?:\[[^\]\s]*\])?)")


def issue_test_ids(issue: str) -> list[str]:
    """Pytest node ids the issue mentions, in order of first mention."""
    found: list[str] = []
    for pattern in (QUOTED_ID, BARE_ID):
        for match in pattern.finditer(issue):
            test_id = match.group(1).strip().lstrip("./")
            if test_id not in found:
                found.append(test_id)
    # A bare match may be a prefix of a quoted one (the bare pattern stops at a space).
    return [t for t in found if not any(o != t and o.startswith(t) and o[len(t)] == "[" for o in found)]


@dataclass
class TestRun:
    exit_code: int | None  # None: timed out
    output: str
    outcomes: dict[str, str] = field(default_factory=dict)  # node id -> passed | failed | skipped
    coverage: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # node id -> file -> lines
    frames: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # node id -> (file, line)
    collected: list[str] = field(default_factory=list)  # node ids collected
    errors: dict[str, str] = field(default_factory=dict)  # test file -> why it could not be collected

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def failed(self) -> list[str]:
        return [t for t, o in self.outcomes.items() if o == "failed"]


class Runner:
    """Runs pytest in `repo` the way the graders do: no cache, no addopts, the repo (and a src/
    layout) on the path, and the spectrum plugin loaded from a temporary directory."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._tmp = Path(tempfile.mkdtemp(prefix="dgm-repair-"))
        shutil.copy(Path(__file__).with_name("spectrum_plugin.py"), self._tmp / f"{PLUGIN}.py")
        shutil.copy(Path(__file__).with_name("snippet_runner.py"), self._tmp / f"{SNIPPETS}.py")
        paths = [str(self._tmp), str(repo)] + [str(repo / "src")] * (repo / "src").is_dir()
        # The genome's own path is replaced, so the repository's imports cannot resolve to it.
        # The tests run where the agent's shell commands run: in the task's environment when
        # the harness relays them there (its /tmp is shared, so the plugin and report are seen).
        self.env = {"PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "1"}

    def run(self, tests: Sequence[str], *, timeout: float, trace: bool = False, first_failure: bool = False,
            extra: Sequence[str] = (), env: Mapping[str, str] = {}) -> TestRun:
        out = self._tmp / "report.json"
        out.unlink(missing_ok=True)
        env = dict(self.env, **env, DGM_SPECTRUM_OUT=str(out), DGM_SPECTRUM_ROOT=str(self.repo))
        if not trace:
            env["DGM_SPECTRUM_ROOT"] = ""
        command = [python_command(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", PLUGIN,
                   "-o", "addopts=", "--tb=native", "--continue-on-collection-errors",
                   *(["-x"] if first_failure else []), *extra, *tests]
        # a mutated loop may never end: the time limit kills the whole process group
        result = run_argv(command, self.repo, timeout=timeout, max_output=OUTPUT_CAP, env=env)
        run = TestRun(result.exit_code, result.output)
        if out.exists():
            try:
                report = json.loads(out.read_text())
                run.outcomes, run.coverage = report["outcomes"], report["coverage"]
                run.frames = {t: [(f, n) for f, n in fs] for t, fs in report["frames"].items()}
                run.collected, run.errors = report["collected"], report["errors"]
            except (ValueError, KeyError):
                pass
        return run

    def collect(self, timeout: float, files: Sequence[str] = ()) -> TestRun:
        """The suite as pytest finds it (or `files`), file by file: a file that cannot be
        collected (an import error, a missing test dependency) is reported in `errors` and the
        others still count."""
        return self.run(files, timeout=timeout, extra=["--collect-only"])

    @property
    def scratch(self) -> Path:
        """A directory outside the repository for the policy's own files."""
        return self._tmp

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)

"""Which tests show the bug: the test ids the issue names, a test generated from the code it
quotes, or, failing both, whatever fails in the suite; and a baseline run of the suite saying
which tests pass before any edit."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from agent.repair import snippets
from agent.repair.budget import Budget
from agent.repair.testrun import Runner, TestRun, issue_test_ids

TEST_NAME = re.compile(r"^(test_\w*|\w*_tests?|tests?)\.py$")
GENERATED = "test_dgm_issue_reproduction.py"  # at the repository root while the policy runs, then removed


def test_file(test_id: str) -> str:
    return test_id.split("::", 1)[0]


@dataclass
class Target:
    failing: list[str]  # test ids that fail now and must pass
    baseline: TestRun  # the suite before any edit
    suite: list[str]  # test files that can be collected: the rest of the tests, run once per accepted edit
    errors: list[str] = field(default_factory=list)  # exception types the failing tests raise
    lookup_failure: bool = False  # the failure is a None, a missing key or index: guards first
    wanted: str = ""  # the exception type the issue says should be raised


def _test_like_files(repo: Path) -> list[str]:
    return sorted(str(p.relative_to(repo)) for p in repo.rglob("*.py")
                  if TEST_NAME.match(p.name) and not any(part.startswith(".") for part in p.relative_to(repo).parts))


def collect(runner: Runner, budget: Budget, trajectory) -> list[str]:
    """Test files that collect; the others (an import error, a missing dependency) are left out
    with a note, so one broken unrelated file does not stop the repair. Where pytest finds no
    tests by its own rules, files named like tests (`tests.py`) are tried one by one."""
    found = runner.collect(timeout=budget.suite_timeout)
    if not found.collected:
        found = runner.collect(timeout=budget.suite_timeout, files=_test_like_files(runner.repo))
    errors = {test_file(k): v for k, v in found.errors.items()}
    files = [f for f in dict.fromkeys(test_file(t) for t in found.collected) if f not in errors]
    trajectory.write("repair", step="collect", files=len(files), tests=len(found.collected),
                     uncollectable={f: m.strip().splitlines()[-1][:200] if m.strip() else "" for f, m in errors.items()})
    return files


def _named(runner: Runner, issue: str, baseline: TestRun, budget: Budget) -> list[str]:
    named = issue_test_ids(issue)
    failing = [t for t in named if baseline.outcomes.get(t) == "failed"]
    if named and not failing:  # ids that are not exact node ids, or in a file that does not collect
        direct = runner.run(named, timeout=budget.test_timeout)
        failing = [t for t in named if direct.outcomes.get(t) == "failed"] or \
                  ([t for t in named if t not in baseline.outcomes] if direct.exit_code == 1 else [])
    return failing


def _from_snippets(runner: Runner, reproduction: snippets.Reproduction, budget: Budget, trajectory) -> list[str]:
    """A test per snippet the issue quotes, checking what the issue implies (see snippets.py);
    the ids of those that fail on the unfixed code."""
    if not reproduction.blocks:
        return []
    path = runner.repo / GENERATED
    observations = runner.scratch / "snippets.jsonl"
    path.write_text(reproduction.source())
    runner.run([GENERATED], timeout=budget.test_timeout, env={"DGM_SNIPPETS_OUT": str(observations)})
    observed = {}
    if observations.exists():
        for line in observations.read_text().splitlines():
            record = json.loads(line)
            observed[record["block"]] = record["observations"]
    checked = snippets.decide(reproduction, observed)
    if not checked:
        trajectory.write("repair", step="snippets", blocks=len(reproduction.blocks), checked=0)
        return []
    path.write_text(snippets.Reproduction(checked).source())  # only the checked blocks
    run = runner.run([GENERATED], timeout=budget.test_timeout)
    failing = [t for t, o in run.outcomes.items() if o == "failed" and test_file(t) == GENERATED]
    trajectory.write("repair", step="snippets", blocks=len(reproduction.blocks), checked=len(checked),
                     checks=[e.check for b in checked for e in b.examples if e.check], failing=failing)
    return failing


def reproduce(runner: Runner, issue: str, budget: Budget, trajectory) -> Target:
    """Tests the issue names, when they fail: their files are the rest of the tests (quick, and
    what such an issue is graded on). Otherwise the suite, file by file, with a test made from
    the issue's snippets, or the suite's own failures."""
    named = issue_test_ids(issue)
    files = [f for f in dict.fromkeys(test_file(t) for t in named) if (runner.repo / f).is_file()]
    if files:
        baseline = runner.run(files, timeout=budget.suite_timeout)
        trajectory.write("repair", step="baseline", files=files, exit_code=baseline.exit_code,
                         outcomes=len(baseline.outcomes), failed=baseline.failed()[:20])
        failing = _named(runner, issue, baseline, budget)
        if failing:
            return Target(failing, baseline, files)
    suite = collect(runner, budget, trajectory)
    baseline = runner.run(suite, timeout=budget.suite_timeout)
    trajectory.write("repair", step="baseline", files=len(suite), exit_code=baseline.exit_code,
                     outcomes=len(baseline.outcomes), failed=baseline.failed()[:20])
    reproduction = snippets.from_issue(issue)
    failing = ([] if files else _named(runner, issue, baseline, budget)) + \
        _from_snippets(runner, reproduction, budget, trajectory)
    if not failing:  # the whole suite is the reproduction
        failing = [t for t in baseline.failed() if "::" in t] or baseline.failed()
    return Target(failing, baseline, suite, wanted=reproduction.should_raise)


def remove_generated(repo: Path) -> None:
    (repo / GENERATED).unlink(missing_ok=True)

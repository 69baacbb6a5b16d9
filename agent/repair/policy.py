"""The repair policy: reproduce, localise, then try template edits until the tests pass.

Each step writes a "repair" event to the trajectory, so a failed run shows where it stopped.
The first candidate that makes the failing tests pass without failing a test that passed
before is left in the working tree; every other edit is reverted byte for byte.
"""

from __future__ import annotations

import time
from pathlib import Path

from agent.repair.budget import Budget
from agent.repair.localise import Suspect, is_test_path, ochiai, rank, traceback_frames
from agent.repair.templates import TEMPLATES, Candidate, ParsedFile, candidates
from agent.repair.testrun import Runner, TestRun, issue_test_ids


def _test_file(test_id: str) -> str:
    return test_id.split("::", 1)[0]


def _sample(tests: list[str], limit: int) -> list[str]:
    """At most `limit` tests spread evenly over the list, so a long file is sampled throughout."""
    if len(tests) <= limit:
        return tests
    step = len(tests) / limit
    return [tests[int(i * step)] for i in range(limit)]


class Clock:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def reproduce(runner: Runner, issue: str, budget: Budget, trajectory) -> tuple[list[str], TestRun]:
    """The issue's failing tests (or the suite's, if it names none) and a baseline run of their
    whole test files, giving which tests pass there now."""
    named = issue_test_ids(issue)
    files = list(dict.fromkeys(_test_file(t) for t in named if (runner.repo / _test_file(t)).is_file()))
    baseline = runner.run(files, timeout=budget.suite_timeout)
    trajectory.write("repair", step="baseline", tests=files or "all", exit_code=baseline.exit_code,
                     outcomes=len(baseline.outcomes), failed=baseline.failed()[:20])
    failing = [t for t in named if baseline.outcomes.get(t) == "failed"]
    if named and not failing:  # ids that are not exact node ids: run them directly
        direct = runner.run(named, timeout=budget.test_timeout)
        failing = [t for t in named if direct.outcomes.get(t) == "failed"] or \
                  ([t for t in named if t not in baseline.outcomes] if direct.exit_code == 1 else [])
    if not named:
        failing = baseline.failed()
    return failing, baseline


def localise(runner: Runner, failing: list[str], baseline: TestRun, issue: str, budget: Budget,
             trajectory) -> list[Suspect]:
    """Run the failing tests once with -x for a traceback, then trace them and a sample of the
    passing tests in the same files, and rank lines."""
    first = runner.run(failing, timeout=budget.test_timeout, first_failure=True)
    frames = traceback_frames(first.output, runner.repo)
    files = {_test_file(t) for t in failing}
    passing = [t for t, o in baseline.outcomes.items() if o == "passed" and _test_file(t) in files]
    traced = runner.run([*failing, *_sample(passing, budget.max_passing_tests)], timeout=budget.suite_timeout,
                        trace=True)
    for test in failing:  # frames seen by the plugin, for failures the -x run stopped before
        for frame in traced.frames.get(test, [])[::-1]:
            if frame not in frames:
                frames.append(frame)
    failed = {t for t, o in traced.outcomes.items() if o == "failed"} or set(failing)
    passed = {t for t, o in traced.outcomes.items() if o == "passed"}
    scores = ochiai(traced.coverage, failed, passed)
    names = " ".join(t.split("::")[-1].split("[")[0].removeprefix("test_") for t in failing)
    suspects = [s for s in rank(runner.repo, frames, scores, f"{issue} {names}", budget.max_lines)
                if not is_test_path(s.path)]
    trajectory.write("repair", step="localise", frames=frames[:10], traced=len(traced.coverage),
                     failed=len(failed), passed=len(passed),
                     suspects=[f"{s.path}:{s.line} {s.why} {s.score:.2f}" for s in suspects])
    return suspects


def _accepts(runner: Runner, failing: list[str], baseline: TestRun, budget: Budget) -> tuple[bool, str]:
    """Failing tests first, stopping at the first failure; then their whole files, where every
    test that passed before must still pass."""
    quick = runner.run(failing, timeout=budget.test_timeout, first_failure=True)
    if not quick.passed:
        return False, "failing tests still fail" if quick.exit_code is not None else "timeout"
    files = list(dict.fromkeys(_test_file(t) for t in failing))
    full = runner.run(files, timeout=budget.suite_timeout)
    broken = [t for t, o in baseline.outcomes.items()
              if o == "passed" and _test_file(t) in files and full.outcomes.get(t) != "passed"]
    still = [t for t in failing if full.outcomes.get(t, "passed") != "passed"]
    if full.exit_code is None or broken or still:
        return False, f"breaks {len(broken)} passing test(s), e.g. {(broken or still or ['timeout'])[0]}"
    return True, "passes"


def search(runner: Runner, suspects: list[Suspect], failing: list[str], baseline: TestRun, budget: Budget,
           clock: Clock, trajectory) -> Candidate | None:
    """Try candidates line by line, most suspicious first; leave the first accepted one applied."""
    parsed: dict[str, ParsedFile | None] = {}
    tried = 0
    for suspect in suspects:
        if suspect.path not in parsed:
            try:
                parsed[suspect.path] = ParsedFile(suspect.path, (runner.repo / suspect.path).read_text())
            except Exception as e:  # not parseable by libcst: nothing to edit there
                trajectory.write("repair", step="parse_error", path=suspect.path, message=str(e)[:200])
                parsed[suspect.path] = None
        file = parsed[suspect.path]
        if file is None:
            continue
        target = runner.repo / suspect.path
        for candidate in candidates(file, suspect.line, TEMPLATES):
            if tried >= budget.max_candidates or clock.left() <= 0:
                trajectory.write("repair", step="budget_spent", tried=tried)
                return None
            tried += 1
            target.write_text(candidate.source)
            try:
                ok, verdict = _accepts(runner, failing, baseline, budget)
            except BaseException:  # never leave an unverified edit behind
                target.write_text(file.source)
                raise
            trajectory.write("repair", step="candidate", n=tried, path=candidate.path, line=candidate.line,
                             template=candidate.template, edit=candidate.description, verdict=verdict)
            if ok:
                return candidate
            target.write_text(file.source)
    return None


def repair(repo: Path, issue: str, trajectory, budget: Budget = Budget()) -> str:
    """Work on `issue` in `repo` without a model; return why the policy stopped (the exit reason)."""
    clock = Clock(budget.max_seconds)
    runner = Runner(repo.resolve())
    try:
        failing, baseline = reproduce(runner, issue, budget, trajectory)
        trajectory.write("repair", step="reproduce", failing=failing)
        if not failing:
            return "not_reproduced"
        suspects = localise(runner, failing, baseline, issue, budget, trajectory)
        if not suspects:
            return "no_suspects"
        found = search(runner, suspects, failing, baseline, budget, clock, trajectory)
        if found is None:
            return "no_candidate"
        trajectory.write("repair", step="found", path=found.path, line=found.line, template=found.template,
                         edit=found.description)
        return "submitted"
    finally:
        runner.close()

"""The repair policy: reproduce (reproduce.py), localise, then try template edits until the
failing tests pass and the rest of the suite still does.

Each step writes a "repair" event to the trajectory, so a failed run shows where it stopped.
The first candidate that makes the failing tests pass without failing a test that passed
before is left in the working tree; every other edit is reverted byte for byte.
"""

from __future__ import annotations

import time
from pathlib import Path

from agent.repair.budget import Budget
from agent.repair.localise import Suspect, exception_types, is_test_path, ochiai, rank, traceback_frames
from agent.repair.reproduce import Target, remove_generated, reproduce, test_file
from agent.repair.site import Candidate, ParsedFile
from agent.repair.templates import candidates, ordered
from agent.repair.testrun import Runner


def _sample(tests: list[str], limit: int) -> list[str]:
    """At most `limit` tests spread evenly over the list, so a long file is sampled throughout."""
    if len(tests) <= limit:
        return tests
    if limit <= 0:
        return []
    step = len(tests) / limit
    return [tests[int(i * step)] for i in range(limit)]


class Clock:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


def localise(runner: Runner, target: Target, issue: str, budget: Budget, trajectory) -> list[Suspect]:
    """Run the failing tests once with -x for a traceback, then trace them and a sample of the
    passing tests (those in the same files first, then the rest of the suite), and rank lines."""
    failing = target.failing
    first = runner.run(failing, timeout=budget.test_timeout, first_failure=True)
    frames = traceback_frames(first.output, runner.repo)
    target.errors = exception_types(first.output)
    target.lookup_failure = "NoneType" in first.output or bool({"KeyError", "IndexError"} & set(target.errors))
    files = {test_file(t) for t in failing}
    passing = [t for t, o in target.baseline.outcomes.items() if o == "passed"]
    nearby = [t for t in passing if test_file(t) in files]
    sample = _sample(nearby, budget.max_passing_tests)
    sample += _sample([t for t in passing if t not in nearby], budget.max_passing_tests - len(sample))
    traced = runner.run([*failing, *sample], timeout=budget.suite_timeout, trace=True)
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
    trajectory.write("repair", step="localise", frames=frames[:10], errors=target.errors, traced=len(traced.coverage),
                     failed=len(failed), passed=len(passed),
                     suspects=[f"{s.path}:{s.line} {s.why} {s.score:.2f}" for s in suspects])
    return suspects


def _accepts(runner: Runner, target: Target, budget: Budget) -> tuple[bool, str]:
    """The failing tests, stopping at the first failure; only an edit that fixes them is run
    against the rest of the suite, where every test that passed before must still pass."""
    quick = runner.run(target.failing, timeout=budget.test_timeout, first_failure=True)
    if not quick.passed:
        return False, "failing tests still fail" if quick.exit_code is not None else "timeout"
    full = runner.run(target.suite, timeout=budget.suite_timeout)
    broken = [t for t, o in target.baseline.outcomes.items() if o == "passed" and full.outcomes.get(t) != "passed"]
    if full.exit_code is None or broken:
        return False, f"breaks {len(broken)} passing test(s), e.g. {(broken or ['timeout'])[0]}"
    return True, "passes"


def search(runner: Runner, suspects: list[Suspect], target: Target, budget: Budget, clock: Clock,
           trajectory) -> Candidate | None:
    """Try candidates line by line, most suspicious first; leave the first accepted one applied."""
    parsed: dict[str, ParsedFile | None] = {}
    tried = 0
    templates = ordered(target.lookup_failure)
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
        path = runner.repo / suspect.path
        for candidate in candidates(file, suspect.line, templates, target.errors, target.wanted):
            if tried >= budget.max_candidates or clock.left() <= 0:
                trajectory.write("repair", step="budget_spent", tried=tried)
                return None
            tried += 1
            path.write_text(candidate.source)
            try:
                ok, verdict = _accepts(runner, target, budget)
            except BaseException:  # never leave an unverified edit behind
                path.write_text(file.source)
                raise
            trajectory.write("repair", step="candidate", n=tried, path=candidate.path, line=candidate.line,
                             template=candidate.template, edit=candidate.description, verdict=verdict)
            if ok:
                return candidate
            path.write_text(file.source)
    return None


def repair(repo: Path, issue: str, trajectory, budget: Budget = Budget()) -> str:
    """Work on `issue` in `repo` without a model; return why the policy stopped (the exit reason)."""
    clock = Clock(budget.max_seconds)
    runner = Runner(repo.resolve())
    try:
        target = reproduce(runner, issue, budget, trajectory)
        trajectory.write("repair", step="reproduce", failing=target.failing)
        if not target.failing:
            return "not_reproduced"
        suspects = localise(runner, target, issue, budget, trajectory)
        if not suspects:
            return "no_suspects"
        found = search(runner, suspects, target, budget, clock, trajectory)
        if found is None:
            return "no_candidate"
        trajectory.write("repair", step="found", path=found.path, line=found.line, template=found.template,
                         edit=found.description)
        return "submitted"
    finally:
        remove_generated(runner.repo)
        runner.close()

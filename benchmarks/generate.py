"""Generate a suite's tasks by injecting bugs into its projects, in the manner of SWE-smith.

For each project: run its whole test suite on the pristine tree; try bug candidates (a range of
kinds, in an order fixed by the seed); keep a bug when some of the project's own tests that
passed now fail. FAIL_TO_PASS are those tests, PASS_TO_PASS a seeded sample of the rest from
the same test files, the gold patch is the inverse of the bug, and the problem statement
describes the symptom. A task is admitted only if the gold patch resolves it 3 runs out of 3
and the empty patch does not, within MAX_GRADING_SECONDS: every failed evaluation of a task pays
its unfixed grading time, so a bug that makes the tests crawl is not worth keeping. No two tasks
share a gold patch, and tasks that share an injected location go to the same split, so the
held-out split never repeats a training task.

Tasks with difficulty "real" (upstream fixes, added by hand) are kept exactly as they are, and
their projects get no generated tasks.

    python -m benchmarks.generate pyfix --seed 0 --per-project 7
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import random
from collections import defaultdict
from pathlib import Path

from rich.console import Console

from benchmarks.bug_injection import Bug, BugSite, BugSource
from benchmarks.grader import grade, run_tests
from benchmarks.patches import changed_lines, is_test_path
from benchmarks.suite import Project, Suite, ensure_environment_image, load_suite, pristine_tree
from benchmarks.tasks import Source, Task, task_record
from sandbox.pool import ContainerPool

console = Console(stderr=True)
MAX_FAILING = 20
P2P_SAMPLE = 10
GOLD_RUNS = 3
MAX_GRADING_SECONDS = 30.0
# A test this slow on the pristine tree is left out of a task: it would make every grading slow,
# and on a loaded machine it outruns the per-test time limit even when the fix is right.
SLOW_TEST_SECONDS = 2.0
HELDOUT_FRACTION = 0.2


def file_diff(path: str, before: str, after: str) -> str:
    body = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        f"a/{path}", f"b/{path}"))
    return f"diff --git a/{path} b/{path}\n{body}"


def source_files(tree: Path) -> list[str]:
    skip = {"setup.py", "conftest.py", "noxfile.py"}
    return sorted(
        str(p.relative_to(tree)) for p in tree.rglob("*.py")
        if p.name not in skip and not is_test_path(str(p.relative_to(tree)))
        and not any(part in ("docs", "benchmark", "benchmarks", "build") for part in p.relative_to(tree).parts)
    )


def interleaved_sites(sources: list[BugSource], rng: random.Random) -> list[tuple[BugSource, BugSite]]:
    """Every candidate, alternating between bug kinds so a project yields a range of them."""
    by_kind: dict[str, list[tuple[BugSource, BugSite]]] = defaultdict(list)
    for source in sources:
        for site in source.sites:
            by_kind[site.kind].append((source, site))
    queues = []
    for kind in sorted(by_kind):
        rng.shuffle(by_kind[kind])
        queues.append(by_kind[kind])
    ordered = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop())
    return ordered


def _test_source(tree: Path, node_id: str) -> str:
    """The source of the test function a node id names, for the bug report's reproduction."""
    file, *names = node_id.split("::")
    try:
        module = ast.parse((tree / file).read_text())
    except (OSError, SyntaxError):
        return ""
    scope: list[ast.stmt] = module.body
    found = None
    for name in names:
        bare = name.split("[")[0]
        found = next((n for n in scope if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == bare), None)
        if found is None:
            return ""
        scope = found.body
    text = ast.get_source_segment((tree / file).read_text(), found) if found else ""
    lines = (text or "").splitlines()
    return "\n".join(lines[:30] + (["    ..."] if len(lines) > 30 else []))


def problem_statement(project: Project, tree: Path, failing: list[str], messages: dict[str, str]) -> str:
    first = failing[0]
    message = messages.get(first, "the check fails").strip().splitlines()[0][:300]
    name = first.split("::")[-1].split("[")[0].removeprefix("test_").replace("_", " ")
    parts = [
        f"{project.name} {project.version}: {name} is broken",
        "",
        f"I'm using {project.name} {project.version} and the behaviour checked by `{first}` is wrong. "
        "Reproduction:",
        "",
        f"    python -m pytest \"{first}\"",
        "",
        "fails with:",
        "",
        f"    {message}",
    ]
    source = _test_source(tree, first)
    if source:
        parts += ["", "The check that fails:", "", "```python", source, "```"]
    if len(failing) > 1:
        others = ", ".join(f"`{t}`" for t in failing[1:4])
        parts += ["", f"Other checks fail too, for example {others}."]
    parts += ["", "I expected this to work as documented."]
    return "\n".join(parts)


def _task_for(project: Project, tree: Path, bug: Bug, baseline: dict[str, str], slow: set[str], suite: Suite,
              image: str, rng: random.Random, seed: int) -> Task | None:
    original = (tree / bug.path).read_text()
    bug_patch = file_diff(bug.path, original, bug.source)
    run = run_tests(suite, image, project, [project.tests], setup_patch=bug_patch, timeout=300, run_id="generate")
    if run.reason != "exit":
        return None
    failing = sorted(t for t, o in baseline.items() if o == "passed" and run.outcomes.get(t) == "failed")
    if not 1 <= len(failing) <= MAX_FAILING or slow.intersection(failing):
        return None
    files = {t.split("::")[0] for t in failing}
    passing = sorted(t for t, o in run.outcomes.items()
                     if o == "passed" and baseline.get(t) == "passed" and t.split("::")[0] in files and t not in slow)
    p2p = sorted(rng.sample(passing, min(P2P_SAMPLE, len(passing))))
    functions = "-".join(f.split(".")[-1] for f in bug.functions)
    return Task(
        instance_id=f"{project.name}__{bug.kind}__{functions}__{bug.lines[0]}",
        repo=project.name, base_commit=f"{project.requirement}+bug", patch=file_diff(bug.path, bug.source, original),
        problem_statement=problem_statement(project, tree, failing, run.messages), test_patch="",
        fail_to_pass=tuple(failing), pass_to_pass=tuple(p2p),
        source=Source("pypi", project.requirement, bug_patch, project.pythonpath),
        environment=f"suite:{suite.name}", difficulty=bug.difficulty, extra={"generator_seed": seed},
    )


def admitted(task: Task, suite: Suite, image: str, log_root: Path) -> bool:
    for i in range(GOLD_RUNS):
        if not grade(task, task.patch, suite, image, log_dir=log_root / task.instance_id / f"gold{i}").resolved:
            return False
    empty = grade(task, "", suite, image, log_dir=log_root / task.instance_id / "empty")
    return not empty.resolved and empty.duration <= MAX_GRADING_SECONDS


def generate_project(project: Project, suite: Suite, image: str, seed: int, per_project: int,
                     log_root: Path) -> list[Task]:
    rng = random.Random(f"{seed}:{project.requirement}")
    tree = pristine_tree(project)
    pristine = run_tests(suite, image, project, [project.tests], setup_patch="", timeout=300, run_id="generate")
    baseline = pristine.outcomes
    slow = {t for t, seconds in pristine.test_durations.items() if seconds > SLOW_TEST_SECONDS}
    sources = [BugSource(path, (tree / path).read_text()) for path in source_files(tree)]
    tasks: list[Task] = []
    singles: list[tuple[BugSource, BugSite]] = []
    single_quota = max(1, per_project - 1)

    def new(task: Task | None) -> bool:
        # Two sites can make the same module text (so the same gold patch): one task, not two. And
        # a two-function bug can fail the same first test as one of its single bugs: one report
        # with two different fixes is a task no agent can tell from the other.
        return task is not None and all(task.patch != t.patch and task.instance_id != t.instance_id
                                        and task.problem_statement != t.problem_statement for t in tasks)

    for source, site in interleaved_sites(sources, rng)[: 12 * per_project]:
        if len(singles) >= single_quota:
            break
        bug = source.bug(site)
        task = bug and _task_for(project, tree, bug, baseline, slow, suite, image, rng, seed)
        if new(task) and admitted(task, suite, image, log_root):
            tasks.append(task)
            singles.append((source, site))
            console.log(f"{project.name}: admitted {task.instance_id} ({len(task.fail_to_pass)} failing)")
    # A bug across two functions: two admitted single bugs of one module, in different functions.
    for (sa, a), (sb, b) in ((x, y) for i, x in enumerate(singles) for y in singles[i + 1:]):
        if sa is sb and a.function != b.function:
            bug = sa.bug(a, b)
            task = bug and _task_for(project, tree, bug, baseline, slow, suite, image, rng, seed)
            if new(task) and admitted(task, suite, image, log_root):
                tasks.append(task)
                console.log(f"{project.name}: admitted {task.instance_id} (two functions)")
                break
    return tasks


def related_groups(tasks: list[Task]) -> list[list[Task]]:
    """Tasks joined when they share a gold patch or an injected location (a line of one project's
    file), transitively: a two-function bug is joined to both single bugs it is made of."""
    parent = list(range(len(tasks)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[object, int] = {}
    for i, task in enumerate(tasks):
        assert task.source is not None
        keys = [(task.source.location, "patch", task.patch)]
        keys += [(task.source.location, path, line) for path, line in changed_lines(task.source.setup_patch)]
        for key in keys:
            parent[root(i)] = root(first_seen.setdefault(key, i))
    groups: dict[int, list[Task]] = defaultdict(list)
    for i, task in enumerate(tasks):
        groups[root(i)].append(task)
    return list(groups.values())


def split_heldout(tasks: list[Task], seed: int) -> list[Task]:
    """About HELDOUT_FRACTION of the tasks held out, whole related groups at a time, so no held-out
    task repeats a training task's gold patch or injected location."""
    groups = sorted(related_groups(tasks), key=lambda g: min(t.instance_id for t in g))
    random.Random(seed).shuffle(groups)
    target, heldout = round(HELDOUT_FRACTION * len(tasks)), set()
    for group in groups:
        if len(heldout) + len(group) <= target:
            heldout.update(t.instance_id for t in group)
    return [Task(**{**t.__dict__, "split": "heldout" if t.instance_id in heldout else "train"}) for t in tasks]


def generate(suite: Suite, seed: int, per_project: int, workers: int, log_root: Path,
             skip: frozenset[str] = frozenset()) -> list[Task]:
    """Tasks for every project of the suite but those named (by key) in `skip`."""
    image = ensure_environment_image(suite)
    tasks: list[Task] = []
    jobs = lambda project: generate_project(project, suite, image, seed, per_project, log_root)  # noqa: E731
    for project, result in ContainerPool(workers).map_unordered(jobs, [p for p in suite.projects if p.key not in skip]):
        if isinstance(result, BaseException):
            raise result
        tasks.extend(result)
    tasks.sort(key=lambda t: t.instance_id)
    return split_heldout(tasks, seed)


def real_task_lines(suite: Suite) -> list[str]:
    """The suite's upstream-fix tasks, as the exact lines of its task file."""
    if not suite.tasks_file.exists():
        return []
    lines = [line for line in suite.tasks_file.read_text().splitlines() if line.strip()]
    return [line for line in lines if json.loads(line).get("difficulty") == "real"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-project", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--logs", type=Path, default=Path("runs/generate"))
    args = parser.parse_args()
    suite = load_suite(args.suite)
    real_projects = frozenset(json.loads(line)["source"]["location"] for line in real_task_lines(suite))
    tasks = generate(suite, args.seed, args.per_project, args.workers, args.logs, skip=real_projects)
    real = real_task_lines(suite)  # read again: they may have been added while this ran
    with suite.tasks_file.open("w") as f:
        for task in tasks:
            f.write(json.dumps(task_record(task)) + "\n")
        for line in real:
            f.write(line + "\n")
    console.print(f"wrote {len(tasks)} generated and {len(real)} real tasks to {suite.tasks_file}")


if __name__ == "__main__":
    main()

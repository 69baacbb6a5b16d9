"""The agent's container and the grader make a task's base the same way: a setup patch that
only applies with fuzz gives the agent the base its patch is graded on, and the agent's
repository has that base as its only commit (no earlier commit that shows the injected bug)."""

from __future__ import annotations

import dataclasses

from benchmarks.agent_run import task_repo_setup
from benchmarks.grader import grade
from sandbox.container import Limits, Sandbox


def _with_stale_context(patch: str) -> str:
    """The patch with its first context line changed: git apply refuses it, patch --fuzz takes it."""
    lines = patch.splitlines(keepends=True)
    hunk = next(i for i, line in enumerate(lines) if line.startswith("@@"))
    context = next(i for i in range(hunk + 1, len(lines)) if lines[i].startswith(" "))
    lines[context] = " # a line that drifted since the patch was made\n"
    return "".join(lines)


def test_a_setup_patch_needing_fuzz_gives_the_agent_the_graded_base(pyfix, pyfix_image, inflection_task, tmp_path):
    source = dataclasses.replace(inflection_task.source, setup_patch=_with_stale_context(inflection_task.source.setup_patch))
    task = dataclasses.replace(inflection_task, source=source)
    script = f"""set -eu
{task_repo_setup(task, pyfix)}
grep -q "with fuzz" /work/out/apply.log && echo "applied with fuzz"
git rev-list --count HEAD
git status --porcelain
git apply --check /work/task/gold.patch && echo "the gold patch applies"
"""
    with Sandbox(pyfix_image, ["bash", "-c", script], limits=Limits(timeout=120)) as box:
        box.put("/work/task", {"setup.patch": source.setup_patch, "gold.patch": task.patch})
        run = box.run()
    assert run.exit_code == 0, run.stdout + run.stderr
    # one commit (the base), a clean tree (no .orig or .rej files), and the bug in place
    assert run.stdout.splitlines() == ["applied with fuzz", "1", "the gold patch applies"]
    gold = grade(task, task.patch, pyfix, pyfix_image, log_dir=tmp_path / "gold")
    assert gold.resolved, gold.reason

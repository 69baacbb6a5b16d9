"""The shell that makes a task's base in a container: the project's pristine tree copied to
/work/repo with the task's setup patch applied. The agent's container and the grader's both run
it, so an agent never works on a different base from the one its patch is graded on."""

from __future__ import annotations

from benchmarks.suite import Project, tree_dir

SETUP_FAILED = 90  # the exit code of the script when the setup patch does not apply

# `apply FILE`: git apply, or else patch with fuzz as SWE-bench does; an empty file is a no-op.
# No .orig backups: they would show up in the agent's diff and in the graded tree.
APPLY_FUNCTION = """apply() { [ -s "$1" ] || return 0
  git apply --whitespace=nowarn "$1" >>/work/out/apply.log 2>&1 \\
    || patch --batch --fuzz=5 --no-backup-if-mismatch -p1 -i "$1" >>/work/out/apply.log 2>&1; }"""


def checkout_script(project: Project) -> str:
    """Shell (bash) that leaves the shell in /work/repo, the base of a task of `project` whose
    setup patch is /work/task/setup.patch; defines `apply` for later patches."""
    return f"""mkdir -p /work/out && cp -a {tree_dir(project)} /work/repo && cd /work/repo
{APPLY_FUNCTION}
apply /work/task/setup.patch || exit {SETUP_FAILED}
"""

"""The grading container's main process, started ahead of need (sandbox/pool.py keeps one per
grading worker): a Python that imports pytest and its builtin plugins, then waits for its go.

The go (one line on stdin, sent by `Sandbox.run` after the task's files are copied in) is
"SECONDS JOB": the container's own deadline, counted from the go, and what to run. Then the
process forks: the parent is the container's deadline (it ends the tests' process group at
SECONDS, and the container with its own exit, as coreutils' `timeout` did), and exits with the
child's status; the child runs JOB's shell (checkout and patches, benchmarks/pytest_runner.py),
then pytest in-process, exactly as `python -P -s -m pytest ARGS` would in REPO, its stdout moved
to stderr and the report descriptor on the container's stdout.

Nothing of the repository exists before the go and nothing of it is on the path until the report
plugin, imported by pytest after the go, adds it after the runner's own packages; this code is
on the command line (fixed when the container is created), pytest and the plugin come from the
image. So the graded code meets the same runner as a freshly started one, only already imported.
An empty stdin (the spare closed, or its owner gone) ends the process and so the container.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from benchmarks.pytest_runner import REPO, REPORT_FD

WAITER = f"""
import json, os, signal, subprocess, sys, time
import pytest, _pytest.config
for name in (*_pytest.config.essential_plugins, *_pytest.config.default_plugins):
    __import__("_pytest." + name)
line = sys.stdin.buffer.readline().decode()
if not line.strip():
    sys.exit(125)
seconds, _, job = line.partition(" ")
job = json.loads(job)
child = os.fork()
if child:
    os.setpgid(child, child)
    def expire(signum, frame):  # as `timeout -k 5`: TERM, 5 s to end, then the container ends
        os.killpg(child, signal.SIGTERM)
        for _ in range(50):
            if os.waitpid(child, os.WNOHANG)[0]:
                break
            time.sleep(0.1)
        os._exit(124)
    signal.signal(signal.SIGALRM, expire)
    signal.alarm(int(seconds))
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    if job.get("trace"):  # a benchmark's (benchmarks/perf/harness.py): the run's end, and its CPU
        t = os.times()
        print(f"+{{time.time():.6f}} END\\n0m{{t.children_user:.3f}}s 0m{{t.children_system:.3f}}s",
              file=sys.stderr, flush=True)
    os._exit(code if code >= 0 else 128 - code)
os.setpgid(0, 0)
null = os.open(os.devnull, os.O_RDONLY)
os.dup2(null, 0)
os.close(null)
code = subprocess.run(["bash", "-c", job["script"]], stdout=2).returncode
if code:
    os._exit(code)
os.dup2(1, {REPORT_FD})
os.dup2(2, 1)
os.environ.update(job["env"])
os.chdir({REPO!r})
sys.argv = [os.path.join(os.path.dirname(pytest.__file__), "__main__.py"), *job["args"]]
if job.get("trace"):
    print(f"+{{time.time():.6f}} -m pytest", file=sys.stderr, flush=True)
code = pytest.main(job["args"])
sys.stdout.flush()
raise SystemExit(code)
"""

COMMAND = ("python", "-P", "-s", "-c", WAITER)


def go(script: str, env: Mapping[str, str], args: Sequence[str]) -> str:
    """The JOB of a go line: run `script` (bash), then pytest with `args` and `env` in REPO."""
    return json.dumps({"script": script, "env": dict(env), "args": list(args)})

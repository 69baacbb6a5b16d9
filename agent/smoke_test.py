"""`python -m agent.smoke_test`: the quick self-check a child variant must pass before it is
evaluated. It imports every genome module, exercises the editor, search and tool schemas, and
runs the genome's own tests (agent/tests: quick, no network, no docker)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path

import agent
import tools


def main() -> None:
    for package in (agent, tools):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if module.name != "agent.__main__":
                importlib.import_module(module.name)
    from agent.actions import SCHEMAS, Actions

    json.dumps(SCHEMAS)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        (repo / "m.py").write_text("def f(x):\n    return x + 1\n")
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        actions = Actions(repo)
        assert "edited" in actions.run("str_replace", {"path": "m.py", "old": "return x + 1", "new": "return x + 2"})
        assert "m.py:1" in actions.run("find_definition", {"name": "f"})
        assert "exit code: 0" in actions.run("bash", {"command": "python3 -c 'import m; assert m.f(1) == 3'"})
    _run_genome_tests()
    print("smoke test passed")


def _run_genome_tests() -> None:
    # the tests of the genome being checked: the `agent` package imported above, wherever it is
    tests = Path(agent.__file__).parent / "tests"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                            cwd=tests.parent.parent, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"the genome's tests failed:\n{result.stdout[-3000:]}{result.stderr[-1000:]}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:
        print(f"smoke test failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)

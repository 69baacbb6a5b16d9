"""`python -m agent.smoke_test` runs the genome's own tests (agent/tests): a child whose change
breaks them fails the smoke test, and the one that keeps them passes it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

GENOME = Path(__file__).resolve().parent.parent


def _smoke(genome: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(genome), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "agent.smoke_test"], cwd=genome, env=env, capture_output=True,
                          text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    for root in ("agent", "tools"):
        shutil.copytree(GENOME / root, tmp_path / root, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_seed_passes_its_smoke_test_with_its_own_tests():
    result = _smoke(GENOME)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "smoke test passed" in result.stdout


def test_a_child_that_breaks_a_genome_test_fails_the_smoke_test(tmp_path):
    genome = _copy(tmp_path)
    actions = genome / "agent" / "actions.py"
    # a child that takes any fenced block for a command, closing fences included
    actions.write_text(actions.read_text().replace('if m.group(1) in ("bash", "sh")]', ']'))
    result = _smoke(genome)
    assert result.returncode == 1
    assert "the genome's tests failed" in result.stderr and "test_a_closing_fence_is_never_taken" in result.stderr

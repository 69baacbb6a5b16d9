"""Validation of a committed child before any evaluation: its genome must import and pass the
smoke test, run in a sandbox like everything the genome does. The smoke test is the engine's
copy of the seed's `agent/smoke_test.py`, never the child's own: a child that rewrites its smoke
test to pass changes nothing here."""

from __future__ import annotations

from pathlib import Path

from benchmarks.agent_run import GENOME_ROOTS
from sandbox.container import Limits, Sandbox

SMOKE_LIMITS = Limits(timeout=180)
SMOKE_TEST = Path(__file__).resolve().parent.parent / "agent" / "smoke_test.py"


def smoke_failure(genome_dir: Path, image: str, run_id: str) -> str | None:
    """None when the child passes; otherwise the end of what the smoke test printed."""
    command = ["bash", "-c", "cd /work/genome && PYTHONPATH=/work/genome python /work/check/smoke_test.py"]
    with Sandbox(image, command, limits=SMOKE_LIMITS, run_id=run_id) as box:
        for root in GENOME_ROOTS:
            box.put(f"/work/genome/{root}", genome_dir / root)
        box.put("/work/check", {"smoke_test.py": SMOKE_TEST.read_bytes()})
        result = box.run()
    if result.reason == "exit" and result.exit_code == 0:
        return None
    output = (result.stdout + result.stderr).strip().splitlines()
    return f"smoke test failed ({result.reason}, exit {result.exit_code}): {' | '.join(output[-3:])[-300:]}"

"""How much work the repair policy may do. Plain numbers, so a variant can retune them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    max_candidates: int = 300  # edits tried, each costing at least one test run
    max_seconds: float = 240.0  # wall-clock limit for the whole repair
    max_lines: int = 15  # suspicious lines that get template edits
    max_passing_tests: int = 60  # passing tests (same files as the failing ones) traced for the spectrum
    test_timeout: float = 60.0  # one pytest run on the failing tests
    suite_timeout: float = 300.0  # one pytest run on whole test files (baseline, validation)

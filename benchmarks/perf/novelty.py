"""Novelty's code comparison on the largest diffs a child may have: two diffs of ~1.6 MB (the
size whose character-by-character comparison took 88 s), made from the standard library's source
read at run time, the second a tenth of its lines changed.

    python -m benchmarks.perf.novelty [--size 1600000]
"""

from __future__ import annotations

import argparse
import random
import sysconfig
import time
from pathlib import Path

from archive.novelty import MAX_DIFF_CHARS, code_similarity, is_near_duplicate


def stdlib_diff(size: int) -> str:
    lines, total = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        for line in path.read_text(errors="replace").splitlines():
            lines.append("+" + line)
            total += len(line) + 2
            if total >= size:
                return "diff --git a/agent/x.py b/agent/x.py\n" + "\n".join(lines) + "\n"
    raise SystemExit(f"the standard library holds fewer than {size} characters of top-level modules")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_600_000)
    args = parser.parse_args()
    a = stdlib_diff(args.size)
    rng = random.Random(0)
    b = "\n".join(line + " # changed" if line.startswith("+") and rng.random() < 0.1 else line
                  for line in a.splitlines())
    started = time.perf_counter()
    similarity = code_similarity(a, b)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    duplicate = is_near_duplicate(a, [b] * 10, threshold=0.95)
    ten = time.perf_counter() - started
    print(f"two diffs of {len(a):,} and {len(b):,} characters: similarity {similarity:.3f} in {elapsed * 1000:.0f} ms; "
          f"near-duplicate check against 10 siblings ({duplicate}) in {ten * 1000:.0f} ms. "
          f"A child's diff is capped at {MAX_DIFF_CHARS:,} characters.")


if __name__ == "__main__":
    main()

"""GI mutations keep the genome parseable, apply as git diffs, and are reproducible from a seed."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import libcst as cst
import pytest

from dgm.gi_mutator import MutationError, mutate_genome, mutate_source

SOURCE = '''\
LIMIT = 10


def budget(steps, cost):
    if steps > LIMIT and cost <= 2.5:
        return steps + 1
    total = 0
    for i in range(steps):
        total = total * 2 - i
    return total
'''


def _genome(tmp_path: Path) -> Path:
    (tmp_path / "agent").mkdir()
    (tmp_path / "tools").mkdir()
    (tmp_path / "agent" / "policy.py").write_text(SOURCE)
    (tmp_path / "tools" / "util.py").write_text("def double(x):\n    return x * 2\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "seed"],
                   cwd=tmp_path, check=True)
    return tmp_path


def test_every_mutation_kind_yields_compiling_code():
    rng = random.Random(0)
    seen = set()
    for _ in range(300):
        result = mutate_source(SOURCE, rng)
        if result is None:
            continue
        mutated, kind, _ = result
        cst.parse_module(mutated)
        compile(mutated, "m", "exec")
        assert mutated != SOURCE
        seen.add(kind)
    assert seen == {"constant", "operator", "delete", "insert", "swap", "replace"}


def test_a_genome_mutation_applies_with_git_and_changes_one_file(tmp_path):
    genome = _genome(tmp_path)
    mutation = mutate_genome(genome, random.Random(3))
    subprocess.run(["git", "apply", "--check", "-"], input=mutation.diff, text=True, cwd=genome, check=True)
    subprocess.run(["git", "apply", "-"], input=mutation.diff, text=True, cwd=genome, check=True)
    changed = subprocess.run(["git", "diff", "--name-only"], cwd=genome, capture_output=True, text=True).stdout.split()
    assert changed == [mutation.path]
    compile((genome / mutation.path).read_text(), mutation.path, "exec")
    assert mutation.path in mutation.description


def test_the_same_seed_gives_the_same_mutation(tmp_path):
    genome = _genome(tmp_path)
    assert mutate_genome(genome, random.Random(7)) == mutate_genome(genome, random.Random(7))


def test_a_genome_without_python_files_is_a_clear_error(tmp_path):
    with pytest.raises(MutationError, match="holds no Python files"):
        mutate_genome(tmp_path, random.Random(0))

"""Genetic improvement of the genome: small libcst mutations that keep the code parseable.

Used for self-modification when no model is configured, and as a baseline when one is.
Statements inserted or substituted are drawn from the genome itself (from the same file), as
genetic-improvement systems do, so the material is plausible code rather than noise.
"""

from __future__ import annotations

import difflib
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from dgm.cst_mutations import BINARY_SWAPS, COMPARISON_SWAPS, ReplaceOne, swapped_operator
from dgm.errors import DgmError

GENOME_ROOTS = ("agent", "tools")

class MutationError(DgmError):
    """No mutation that still compiles could be made."""


@dataclass(frozen=True)
class GIMutation:
    path: str  # relative to the genome root, e.g. "agent/repair.py"
    kind: str  # constant | operator | delete | insert | swap | replace
    description: str
    diff: str  # a git-style unified diff against the parent


class _Sites(cst.CSTVisitor):
    """Every place in a module where some mutation kind applies."""

    def __init__(self) -> None:
        self.by_kind: dict[str, list[cst.CSTNode]] = defaultdict(list)
        self.statements: list[cst.SimpleStatementLine] = []

    def visit_Integer(self, node: cst.Integer) -> None:
        self.by_kind["constant"].append(node)

    def visit_Float(self, node: cst.Float) -> None:
        self.by_kind["constant"].append(node)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if type(node.operator) in BINARY_SWAPS:
            self.by_kind["operator"].append(node)

    def visit_ComparisonTarget(self, node: cst.ComparisonTarget) -> None:
        if type(node.operator) in COMPARISON_SWAPS:
            self.by_kind["operator"].append(node)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        self.by_kind["operator"].append(node)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        for kind in ("delete", "insert", "replace"):
            self.by_kind[kind].append(node)
        if len(node.body) >= 2:
            self.by_kind["swap"].append(node)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.statements.append(node)


def _new_constant(node: cst.Integer | cst.Float, rng: random.Random) -> cst.BaseExpression:
    value = node.evaluated_value
    choices = [value + 1, value - 1, value * 2, value // 2 if isinstance(value, int) else value / 2]
    new = rng.choice([c for c in choices if c != value and c >= 0] or [value + 1])
    return cst.Integer(str(new)) if isinstance(new, int) else cst.Float(repr(new))


def _edit_block(block: cst.IndentedBlock, kind: str, rng: random.Random,
                donors: list[cst.SimpleStatementLine]) -> cst.IndentedBlock:
    body = list(block.body)
    i = rng.randrange(len(body))
    if kind == "delete":
        body[i : i + 1] = [] if len(body) > 1 else [cst.SimpleStatementLine([cst.Pass()])]
    elif kind == "swap":
        i = min(i, len(body) - 2)
        body[i], body[i + 1] = body[i + 1], body[i]
    elif kind == "insert":
        body.insert(i, rng.choice(donors))
    else:  # replace
        body[i] = rng.choice(donors)
    return block.with_changes(body=body)


def _mutation(node: cst.CSTNode, kind: str, rng: random.Random,
              donors: list[cst.SimpleStatementLine]) -> Callable[[cst.CSTNode], cst.CSTNode]:
    """What replaces `node` (given its updated form) for this mutation kind."""
    if kind == "constant":
        return lambda updated: _new_constant(node, rng)  # type: ignore[arg-type]
    if kind == "operator":
        return swapped_operator
    return lambda updated: _edit_block(updated, kind, rng, donors)  # type: ignore[arg-type]


def genome_files(genome_dir: Path) -> list[str]:
    return sorted(
        str(path.relative_to(genome_dir))
        for root in GENOME_ROOTS for path in (genome_dir / root).rglob("*.py")
        if "test" not in path.name
    )


def mutate_source(source: str, rng: random.Random) -> tuple[str, str, str] | None:
    """One random mutation of `source` that still compiles: (new source, kind, description)."""
    module = cst.parse_module(source)
    sites = _Sites()
    module.visit(sites)
    kinds = [k for k, nodes in sites.by_kind.items() if nodes and (sites.statements or k not in ("insert", "replace"))]
    if not kinds:
        return None
    kind = rng.choice(sorted(kinds))
    target = rng.choice(sites.by_kind[kind])
    line = module.code_for_node(target).strip().splitlines()[0][:80]
    mutated = module.visit(ReplaceOne(target, _mutation(target, kind, rng, sites.statements))).code
    try:
        compile(mutated, "<mutant>", "exec")
    except SyntaxError:
        return None
    if mutated == source:
        return None
    return mutated, kind, f"{kind} mutation at `{line}`"


def mutate_genome(genome_dir: Path, rng: random.Random, attempts: int = 50) -> GIMutation:
    """A mutation of one genome file, as a diff against `genome_dir`. The tree is not changed."""
    files = genome_files(genome_dir)
    if not files:
        raise MutationError(f"{genome_dir} holds no Python files under {', '.join(GENOME_ROOTS)}/")
    for _ in range(attempts):
        path = rng.choice(files)
        source = (genome_dir / path).read_text()
        result = mutate_source(source, rng)
        if result is None:
            continue
        mutated, kind, description = result
        diff = "".join(difflib.unified_diff(
            source.splitlines(keepends=True), mutated.splitlines(keepends=True),
            fromfile=f"a/{path}", tofile=f"b/{path}",
        ))
        return GIMutation(path, kind, f"{path}: {description}", f"diff --git a/{path} b/{path}\n{diff}")
    raise MutationError(f"no compiling mutation of {genome_dir} found in {attempts} attempts")

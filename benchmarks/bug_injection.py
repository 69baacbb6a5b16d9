"""Bugs injected into a project's non-test code by libcst rewrites, in the manner of SWE-smith.

Every candidate is a single, labelled change inside a function; two candidates in different
functions of one module combine into a bug that crosses two functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from dgm.cst_mutations import BINARY_SWAPS, COMPARISON_SWAPS, swapped_operator

# kind -> difficulty of its fix
DIFFICULTY = {
    "comparison": "one-token", "arithmetic": "one-token", "boolean": "one-token",
    "off_by_one": "one-token", "negation": "one-token", "argument_swap": "one-line",
    "dropped_statement": "multi-line", "dropped_return_value": "one-line",
}


@dataclass(frozen=True)
class BugSite:
    kind: str
    function: str
    line: int
    node: cst.CSTNode
    make: Callable[[cst.CSTNode], cst.CSTNode]


def _drop_statement(i: int) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def make(block: cst.CSTNode) -> cst.CSTNode:
        body = list(block.body)  # type: ignore[attr-defined]
        del body[i]
        return block.with_changes(body=body)
    return make


def _negate(node: cst.CSTNode) -> cst.CSTNode:
    test = node.test  # type: ignore[attr-defined]
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return node.with_changes(test=test.expression)
    if not isinstance(test, (cst.Name, cst.Call, cst.Attribute)):
        test = test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node.with_changes(test=cst.UnaryOperation(cst.Not(), test))


def _swap_first_args(call: cst.CSTNode) -> cst.CSTNode:
    args = list(call.args)  # type: ignore[attr-defined]
    first, second = args[0], args[1]
    args[0] = first.with_changes(value=second.value)
    args[1] = second.with_changes(value=first.value)
    return call.with_changes(args=args)


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.SimpleString))


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        self.functions: list[str] = []
        self.sites: list[BugSite] = []

    def _add(self, kind: str, node: cst.CSTNode, make: Callable[[cst.CSTNode], cst.CSTNode]) -> None:
        if self.functions:
            line = self.get_metadata(PositionProvider, node).start.line
            self.sites.append(BugSite(kind, ".".join(self.functions), line, node, make))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.functions.append(node.name.value)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.functions.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.append(node.name.value)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.pop()

    def visit_ComparisonTarget(self, node: cst.ComparisonTarget) -> None:
        if type(node.operator) in COMPARISON_SWAPS:
            self._add("comparison", node, swapped_operator)

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if type(node.operator) in BINARY_SWAPS:
            self._add("arithmetic", node, swapped_operator)

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> None:
        self._add("boolean", node, swapped_operator)

    def visit_Integer(self, node: cst.Integer) -> None:
        if node.value.isdigit() and int(node.value) < 100:
            self._add("off_by_one", node, lambda n: cst.Integer(str(int(n.value) + 1)))  # type: ignore[attr-defined]

    def visit_If(self, node: cst.If) -> None:
        self._add("negation", node, _negate)

    def visit_Call(self, node: cst.Call) -> None:
        positional = [a for a in node.args if a.keyword is None and a.star == ""]
        if len(node.args) >= 2 and positional[:2] == list(node.args[:2]):
            self._add("argument_swap", node, _swap_first_args)

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None and not (isinstance(node.value, cst.Name) and node.value.value == "None"):
            self._add("dropped_return_value", node, lambda n: n.with_changes(value=None))

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        for i, stmt in enumerate(node.body):
            droppable = (isinstance(stmt, cst.SimpleStatementLine) and not _is_docstring(stmt)
                         and not any(isinstance(s, (cst.Return, cst.Raise, cst.Pass)) for s in stmt.body))
            if droppable and len(node.body) >= 2:
                self._add("dropped_statement", node, _drop_statement(i))


class _ReplaceSites(cst.CSTTransformer):
    """Apply every site's change in one pass over the tree the sites were found in: a second pass
    would look for nodes of the old tree in a new one and silently change nothing."""

    def __init__(self, sites: tuple[BugSite, ...]) -> None:
        self.makes = {id(site.node): site.make for site in sites}

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        make = self.makes.get(id(original_node))
        return make(updated_node) if make else updated_node


@dataclass(frozen=True)
class Bug:
    path: str
    kind: str
    functions: tuple[str, ...]
    lines: tuple[int, ...]
    difficulty: str
    source: str  # the whole module with the bug in it


class BugSource:
    """One module and every bug site in it."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.original = source
        wrapper = MetadataWrapper(cst.parse_module(source))
        self.module = wrapper.module
        collector = _Collector()
        wrapper.visit(collector)
        self.sites = collector.sites

    def _apply(self, sites: tuple[BugSite, ...]) -> str:
        return self.module.visit(_ReplaceSites(sites)).code

    def bug(self, *sites: BugSite) -> Bug | None:
        """The module with `sites` applied, or None if the result does not compile, is unchanged,
        or (for several sites) equals the module with fewer of them: each site must add a bug."""
        code = self._apply(sites)
        try:
            compile(code, self.path, "exec")
        except SyntaxError:
            return None
        if code == self.original:
            return None
        if len(sites) > 1 and any(code == self._apply(sites[:i] + sites[i + 1:]) for i in range(len(sites))):
            return None
        kinds = sorted({s.kind for s in sites})
        difficulty = "two-function" if len(sites) > 1 else DIFFICULTY[sites[0].kind]
        return Bug(self.path, "+".join(kinds), tuple(s.function for s in sites),
                   tuple(s.line for s in sites), difficulty, code)

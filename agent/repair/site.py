"""What a repair template works on: one line of a module parsed with libcst, with the metadata
templates need, and the edits and candidates they produce."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import ExpressionContextProvider, MetadataWrapper, ParentNodeProvider, PositionProvider

MAX_SPAN = 2  # an expression counts as "on" a line if it covers it and spans at most 3 lines


@dataclass(frozen=True)
class Edit:
    old: cst.CSTNode
    new: cst.CSTNode


@dataclass(frozen=True)
class Candidate:
    path: str
    line: int
    template: str
    description: str
    source: str  # the whole edited file


@dataclass
class Site:
    """One line of one parsed module, with the metadata templates need."""

    module: cst.Module
    line: int
    positions: dict
    parents: dict
    contexts: dict
    on_line: list[cst.CSTNode] = field(default_factory=list)  # in source order
    memo: dict = field(default_factory=dict)  # per-file cache shared by its sites (e.g. a function's locals)
    errors: tuple[str, ...] = ()  # exception types the reproduction raised, innermost frame last
    wanted: str = ""  # the exception type the issue says should be raised instead

    def block_statement(self) -> cst.CSTNode | None:
        """The innermost whole statement (simple line or compound) starting on the line and
        sitting in a block, where a guard can go before it or a wrapper around it."""
        found = [n for n in self.on_line if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
                 and self.positions[n].start.line == self.line
                 and isinstance(self.parents.get(n), (cst.IndentedBlock, cst.Module))]
        return found[-1] if found else None

    def in_loop(self, node: cst.CSTNode) -> bool:
        while node is not None and not isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            node = self.parents.get(node)
            if isinstance(node, (cst.For, cst.While)):
                return True
        return False

    def nodes(self, kind: type | tuple[type, ...]) -> list:
        return [n for n in self.on_line if isinstance(n, kind)]

    def statements(self) -> list[cst.CSTNode]:
        """Statements starting on the line: simple statement lines and compound statements."""
        return [n for n in self.on_line if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
                and self.positions[n].start.line == self.line]

    def function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        while node is not None and not isinstance(node, cst.FunctionDef):
            node = self.parents.get(node)
        return node

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()


class ParsedFile:
    """A module parsed once, giving a `Site` for any of its lines."""

    def __init__(self, path: str, source: str) -> None:
        self.path, self.source = path, source
        wrapper = MetadataWrapper(cst.parse_module(source))
        self.module = wrapper.module  # metadata is keyed by the wrapper's copy of the tree
        self.positions = dict(wrapper.resolve(PositionProvider))
        self.parents = dict(wrapper.resolve(ParentNodeProvider))
        self.contexts = dict(wrapper.resolve(ExpressionContextProvider))
        self._memo: dict = {}
        self._order = sorted(self.positions, key=lambda n: (self.positions[n].start.line,
                                                            self.positions[n].start.column))

    def site(self, line: int, errors: tuple[str, ...] = (), wanted: str = "") -> Site:
        on_line = [n for n in self._order
                   if self.positions[n].start.line <= line <= self.positions[n].end.line
                   and (self.positions[n].end.line - self.positions[n].start.line <= MAX_SPAN
                        or self.positions[n].start.line == line)]
        return Site(self.module, line, self.positions, self.parents, self.contexts, on_line, self._memo, errors, wanted)


def with_whitespace(new: cst.CSTNode, old: cst.CSTNode) -> cst.CSTNode:
    """`new` operator with `old`'s surrounding whitespace, where both have it."""
    changes = {a: getattr(old, a) for a in ("whitespace_before", "whitespace_after")
               if hasattr(old, a) and hasattr(new, a)}
    return new.with_changes(**changes)

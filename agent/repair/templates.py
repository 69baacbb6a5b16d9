"""Repair templates: small edits of the code on one line, each a function from a `Site` (the
parsed module and the line) to `Edit`s. TEMPLATES is the order they are tried in; a variant may
reorder, drop or add templates here."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import (ExpressionContext, ExpressionContextProvider, MetadataWrapper,
                             ParentNodeProvider, PositionProvider)

MAX_SPAN = 2  # an expression counts as "on" a line if it covers it and spans at most 3 lines
MAX_NAMES = 8  # replacement names tried per variable, so one line cannot eat the budget


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

    def site(self, line: int) -> Site:
        on_line = [n for n in self._order
                   if self.positions[n].start.line <= line <= self.positions[n].end.line
                   and (self.positions[n].end.line - self.positions[n].start.line <= MAX_SPAN
                        or self.positions[n].start.line == line)]
        return Site(self.module, line, self.positions, self.parents, self.contexts, on_line, self._memo)


def _with_whitespace(new: cst.CSTNode, old: cst.CSTNode) -> cst.CSTNode:
    """`new` operator with `old`'s surrounding whitespace, where both have it."""
    changes = {a: getattr(old, a) for a in ("whitespace_before", "whitespace_after")
               if hasattr(old, a) and hasattr(new, a)}
    return new.with_changes(**changes)


COMPARISONS: dict[type, Sequence[type]] = {
    cst.LessThan: (cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual, cst.NotEqual, cst.Equal),
    cst.LessThanEqual: (cst.LessThan, cst.GreaterThanEqual, cst.GreaterThan, cst.Equal, cst.NotEqual),
    cst.GreaterThan: (cst.GreaterThanEqual, cst.LessThan, cst.LessThanEqual, cst.NotEqual, cst.Equal),
    cst.GreaterThanEqual: (cst.GreaterThan, cst.LessThanEqual, cst.LessThan, cst.Equal, cst.NotEqual),
    cst.Equal: (cst.NotEqual, cst.LessThanEqual, cst.GreaterThanEqual),
    cst.NotEqual: (cst.Equal, cst.LessThan, cst.GreaterThan),
    cst.In: (cst.NotIn,), cst.NotIn: (cst.In,), cst.Is: (cst.IsNot,), cst.IsNot: (cst.Is,),
}
ARITHMETIC: dict[type, Sequence[type]] = {
    cst.Add: (cst.Subtract,), cst.Subtract: (cst.Add,),
    cst.Multiply: (cst.FloorDivide, cst.Divide), cst.FloorDivide: (cst.Multiply, cst.Divide),
    cst.Divide: (cst.Multiply, cst.FloorDivide), cst.Modulo: (cst.FloorDivide,),
    cst.BitAnd: (cst.BitOr,), cst.BitOr: (cst.BitAnd,), cst.And: (cst.Or,), cst.Or: (cst.And,),
}
AUGMENTED: dict[type, Sequence[type]] = {
    cst.AddAssign: (cst.SubtractAssign,), cst.SubtractAssign: (cst.AddAssign,),
    cst.MultiplyAssign: (cst.FloorDivideAssign, cst.DivideAssign), cst.DivideAssign: (cst.MultiplyAssign,),
    cst.FloorDivideAssign: (cst.MultiplyAssign,),
}


def comparison_swap(site: Site) -> Iterator[Edit]:
    for target in site.nodes(cst.ComparisonTarget):
        for alternative in COMPARISONS.get(type(target.operator), ()):
            yield Edit(target, target.with_changes(operator=_with_whitespace(alternative(), target.operator)))


def operator_swap(site: Site) -> Iterator[Edit]:
    for node in site.nodes((cst.BinaryOperation, cst.BooleanOperation)):
        for alternative in ARITHMETIC.get(type(node.operator), ()):
            yield Edit(node, node.with_changes(operator=_with_whitespace(alternative(), node.operator)))
    for node in site.nodes(cst.AugAssign):
        for alternative in AUGMENTED.get(type(node.operator), ()):
            yield Edit(node, node.with_changes(operator=_with_whitespace(alternative(), node.operator)))


def _plus(expression: cst.BaseExpression, delta: int) -> cst.BaseExpression:
    operator = cst.Add() if delta > 0 else cst.Subtract()
    return cst.BinaryOperation(expression, operator, cst.Integer(str(abs(delta))))


def off_by_one(site: Site) -> Iterator[Edit]:
    for node in site.nodes(cst.Integer):
        try:
            value = int(node.value, 0)
        except ValueError:
            continue
        for new in (value + 1, value - 1):
            if new >= 0:
                yield Edit(node, node.with_changes(value=str(new)))
    # Index and slice bounds that are not plain integers: e -> e + 1, e - 1.
    for node in site.nodes(cst.Index):
        if not isinstance(node.value, (cst.Integer, cst.UnaryOperation)):
            for delta in (1, -1):
                yield Edit(node, node.with_changes(value=_plus(node.value, delta)))
    for node in site.nodes(cst.Slice):
        for bound in ("lower", "upper"):
            value = getattr(node, bound)
            if value is not None and not isinstance(value, (cst.Integer, cst.UnaryOperation)):
                for delta in (1, -1):
                    yield Edit(node, node.with_changes(**{bound: _plus(value, delta)}))
    # A stray `x + 1` or `x - 1`: drop the adjustment.
    for node in site.nodes(cst.BinaryOperation):
        if isinstance(node.operator, (cst.Add, cst.Subtract)) and isinstance(node.right, cst.Integer) \
                and node.right.value == "1":
            yield Edit(node, node.left.with_changes(lpar=node.lpar, rpar=node.rpar) if node.lpar else node.left)


def _negated(test: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return test.expression
    if not isinstance(test, (cst.Name, cst.Call, cst.Attribute, cst.Subscript)) and not test.lpar:
        test = test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.UnaryOperation(cst.Not(), test)


def negation(site: Site) -> Iterator[Edit]:
    for node in site.statements():
        if isinstance(node, (cst.If, cst.While)):
            yield Edit(node, node.with_changes(test=_negated(node.test)))
    for node in site.nodes((cst.IfExp, cst.Assert)):
        yield Edit(node, node.with_changes(test=_negated(node.test)))
    for node in site.nodes(cst.UnaryOperation):
        if isinstance(node.operator, cst.Not):
            yield Edit(node, node.expression)
    for node in site.nodes(cst.BooleanOperation):
        for side in ("left", "right"):
            yield Edit(node, node.with_changes(**{side: _negated(getattr(node, side))}))


def _stored(site: Site, node: cst.CSTNode, context: object, function: cst.FunctionDef) -> bool:
    """A name bound in `function` by assignment (not the name of a def or class in it)."""
    return (context is ExpressionContext.STORE and isinstance(node, cst.Name)
            and not isinstance(site.parents.get(node), (cst.FunctionDef, cst.ClassDef))
            and site.function(node) is function)


def _locals(site: Site, function: cst.FunctionDef) -> list[str]:
    """Parameters and assigned names of `function`, in order of first appearance."""
    if function in site.memo:
        return list(site.memo[function])
    names: list[str] = []
    params = function.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        names.append(param.name.value)
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    start, end = site.positions[function].start.line, site.positions[function].end.line
    for node, context in site.contexts.items():
        if start <= site.positions[node].start.line <= end and _stored(site, node, context, function):
            names.append(node.value)
    site.memo[function] = list(dict.fromkeys(names))
    return list(site.memo[function])


def wrong_variable(site: Site) -> Iterator[Edit]:
    for node in site.nodes(cst.Name):
        if site.contexts.get(node) is not ExpressionContext.LOAD or hasattr(builtins, node.value):
            continue
        function = site.function(node)
        if function is None:
            continue
        names = _locals(site, function)
        if node.value not in names:  # the slip swaps one local for another
            continue
        names.remove(node.value)
        for name in names[:MAX_NAMES]:
            yield Edit(node, node.with_changes(value=name))


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.SimpleString))


def _assigned_before(site: Site, node: cst.CSTNode, function: cst.FunctionDef) -> list[str]:
    """Names assigned in `function` above `node`, nearest first."""
    line = site.positions[node].start.line
    found = [(site.positions[n].start.line, n.value) for n, c in site.contexts.items()
             if _stored(site, n, c, function) and site.positions[n].start.line < line]
    return list(dict.fromkeys(name for _, name in sorted(found, reverse=True)))


def missing_return(site: Site) -> Iterator[Edit]:
    for statement in site.statements():
        if not isinstance(statement, cst.SimpleStatementLine) or _is_docstring(statement):
            continue
        function = site.function(statement)
        if function is None:
            continue
        for small in statement.body:
            if isinstance(small, cst.Expr):  # a value computed and thrown away
                yield Edit(small, cst.Return(value=small.value))
            elif isinstance(small, cst.Return) and (small.value is None or
                                                   (isinstance(small.value, cst.Name) and small.value.value == "None")):
                params = [p for p in _locals(site, function)[:len(function.params.params)] if p not in ("self", "cls")]
                for name in (_assigned_before(site, statement, function) + params)[:MAX_NAMES]:
                    yield Edit(small, small.with_changes(value=cst.Name(name),
                                                         whitespace_after_return=cst.SimpleWhitespace(" ")))
        # The function's last statement assigns but nothing is returned.
        body = function.body
        if isinstance(body, cst.IndentedBlock) and body.body and body.body[-1] is statement:
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1:
                    returned = cst.SimpleStatementLine([cst.Return(value=small.targets[0].target)])
                    yield Edit(body, body.with_changes(body=[*body.body, returned]))


def constant_change(site: Site) -> Iterator[Edit]:
    swaps = {"True": ("False", "None"), "False": ("True", "None"), "None": ("False", "True")}
    for node in site.nodes(cst.Name):
        for value in swaps.get(node.value, ()):
            yield Edit(node, node.with_changes(value=value))


def call_arguments(site: Site) -> Iterator[Edit]:
    for call in site.nodes(cst.Call):
        args = list(call.args)
        positional = [i for i, a in enumerate(args) if a.keyword is None and a.star == ""]
        for i, j in zip(positional, positional[1:]):
            swapped = list(args)
            swapped[i] = args[i].with_changes(value=args[j].value)
            swapped[j] = args[j].with_changes(value=args[i].value)
            yield Edit(call, call.with_changes(args=swapped))
        for i in range(len(args)):
            kept = args[:i] + args[i + 1:]
            if kept:
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            yield Edit(call, call.with_changes(args=kept))


def statement_swap(site: Site) -> Iterator[Edit]:
    for statement in site.statements():
        block = site.parents.get(statement)
        if not isinstance(block, (cst.IndentedBlock, cst.Module)):
            continue
        body = list(block.body)
        i = next(k for k, s in enumerate(body) if s is statement)
        for j in (i + 1, i - 1):
            if 0 <= j < len(body) and not _is_docstring(body[min(i, j)]):
                swapped = list(body)
                swapped[i], swapped[j] = body[j], body[i]
                yield Edit(block, block.with_changes(body=swapped))


Template = Callable[[Site], Iterator[Edit]]
# Tried in this order at each suspicious line: the likeliest one-token slips first.
TEMPLATES: list[Template] = [
    comparison_swap, operator_swap, negation, off_by_one, constant_change, missing_return,
    call_arguments, wrong_variable, statement_swap,
]


def candidates(parsed: ParsedFile, line: int, templates: Sequence[Template] = TEMPLATES) -> Iterator[Candidate]:
    """Every distinct, parseable edit of `line`, template by template."""
    site = parsed.site(line)
    seen = {parsed.source}
    for template in templates:
        for edit in template(site):
            try:
                source = parsed.module.deep_replace(edit.old, edit.new).code
                compile(source, parsed.path, "exec")
            except Exception:  # an edit that does not make valid Python is no candidate
                continue
            if source in seen:
                continue
            seen.add(source)
            description = f"{site.code(edit.old)[:120]!r} -> {site.code(edit.new)[:120]!r}"
            yield Candidate(parsed.path, line, template.__name__, description, source)

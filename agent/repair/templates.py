"""Repair templates: small edits of the code on one line, each a function from a `Site` (the
parsed module and the line) to `Edit`s. TEMPLATES is the order they are tried in (the shapes of
real fixes are in guards.py); a variant may reorder, drop or add templates here."""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Callable, Iterator, Sequence

import libcst as cst
from libcst.metadata import ExpressionContext

from agent.repair.guards import bounds, catch, convert, delete, guard, regex
from agent.repair.site import Candidate, Edit, ParsedFile, Site, with_whitespace

MAX_NAMES = 8  # replacement names tried per variable, so one line cannot eat the budget


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
            yield Edit(target, target.with_changes(operator=with_whitespace(alternative(), target.operator)))


def operator_swap(site: Site) -> Iterator[Edit]:
    for node in site.nodes((cst.BinaryOperation, cst.BooleanOperation)):
        for alternative in ARITHMETIC.get(type(node.operator), ()):
            yield Edit(node, node.with_changes(operator=with_whitespace(alternative(), node.operator)))
    for node in site.nodes(cst.AugAssign):
        for alternative in AUGMENTED.get(type(node.operator), ()):
            yield Edit(node, node.with_changes(operator=with_whitespace(alternative(), node.operator)))


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


def own_class(site: Site) -> Iterator[Edit]:
    """`C(...)` inside a method of class C made `type(self)(...)`, so subclasses get their own type."""
    for call in site.nodes(cst.Call):
        if not isinstance(call.func, cst.Name):
            continue
        node, function = call, site.function(call)
        while node is not None and not isinstance(node, cst.ClassDef):
            node = site.parents.get(node)
        params = function.params.params if function is not None else ()
        if node is None or node.name.value != call.func.value or not params:
            continue
        decorators = {site.code(d.decorator) for d in function.decorators}
        if "staticmethod" not in decorators:
            first = params[0].name.value
            new = cst.Name(first) if "classmethod" in decorators else cst.parse_expression(f"type({first})")
            yield Edit(call, call.with_changes(func=new))


Template = Callable[[Site], Iterator[Edit]]
# Tried in this order at each suspicious line: the likeliest one-token slips first, then the
# shapes of real fixes.
TEMPLATES: list[Template] = [
    comparison_swap, operator_swap, negation, off_by_one, constant_change, missing_return,
    call_arguments, wrong_variable, statement_swap, regex, guard, bounds, catch, convert, own_class, delete,
]
GUARDS: list[Template] = [guard, catch, bounds]


def ordered(lookup_failure: bool) -> list[Template]:
    """The template order: a failure on None or on a missing key or index is most often fixed by
    a guard; anything else (a TypeError from swapped arguments, a wrong value) by a token edit."""
    return [*GUARDS, *(t for t in TEMPLATES if t not in GUARDS)] if lookup_failure else list(TEMPLATES)


class _ReplaceAll(cst.CSTTransformer):
    def __init__(self, old: set[cst.CSTNode], new: cst.CSTNode) -> None:
        self.old, self.new = old, new

    def on_leave(self, original_node, updated_node):
        return self.new if original_node in self.old else updated_node


def _twins(parsed: ParsedFile, site: Site, node: cst.CSTNode) -> set[cst.CSTNode]:
    """Other copies of `node`'s code in the same function: a fix is often the same edit on
    several lines (each comparison of a loop, both branches of an if)."""
    if isinstance(node, (cst.Name, cst.BaseSuite, cst.BaseStatement, cst.Module, cst.SimpleString)):
        return set()
    function = site.function(node)
    code = site.code(node)
    if function is None or len(code) < 3:
        return set()
    key = ("twins", function)
    if key not in site.memo:  # each function's nodes by type and code, built once per file
        scope = parsed.positions[function]
        index: dict[tuple[type, str], set[cst.CSTNode]] = {}
        for n in parsed.positions:
            if scope.start.line <= parsed.positions[n].start.line <= scope.end.line \
                    and isinstance(n, (cst.BaseExpression, cst.ComparisonTarget)) and site.function(n) is function:
                index.setdefault((type(n), site.code(n)), set()).add(n)
        site.memo[key] = index
    return site.memo[key].get((type(node), code), set()) - {node}


def _describe(old: str, new: str) -> str:
    """The changed lines, as `-old +new` (built from the sources: a new node alone may not print)."""
    changed = [line for line in difflib.unified_diff(old.splitlines(), new.splitlines(), n=0, lineterm="")
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    return " | ".join(line.strip() if len(line.strip()) < 2 else line[0] + line[1:].strip() for line in changed)[:300]


def candidates(parsed: ParsedFile, line: int, templates: Sequence[Template] = TEMPLATES,
               errors: Sequence[str] = (), wanted: str = "") -> Iterator[Candidate]:
    """Every distinct, parseable edit of `line`, template by template; an edit of code that
    recurs in the function is also tried on every copy at once."""
    site = parsed.site(line, tuple(errors), wanted)
    seen = {parsed.source}
    for template in templates:
        for edit in template(site):
            twins = _twins(parsed, site, edit.old)
            for name, change in ((template.__name__, lambda: parsed.module.deep_replace(edit.old, edit.new)),
                                 (f"{template.__name__}_everywhere",
                                  lambda: parsed.module.visit(_ReplaceAll({edit.old, *twins}, edit.new)))):
                if name.endswith("_everywhere") and not twins:
                    continue
                try:
                    source = change().code
                    compile(source, parsed.path, "exec")
                except Exception:  # an edit that does not make valid Python is no candidate
                    continue
                if source in seen:
                    continue
                seen.add(source)
                yield Candidate(parsed.path, line, name, _describe(parsed.source, source), source)

"""Repair templates for the shapes real fixes take, beyond one-token slips: a guard inserted
before a statement (None, empty, bounds), a statement wrapped in a check or in a handler for the
exception the reproduction raised, a call or argument wrapped in a conversion, and a changed
regular expression. Each is a function from a `Site` to `Edit`s, like those in templates.py."""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterator

import libcst as cst
from libcst.metadata import ExpressionContext

from agent.repair.site import Edit, Site

MAX_SUBJECTS = 4  # values guarded per statement, so one line cannot eat the budget
CONVERSIONS = ("str", "list", "int", "float")
REGEX_FUNCTIONS = {"compile", "match", "search", "fullmatch", "sub", "subn", "split", "findall", "finditer"}
MATCH_SWAPS = {"match": ("search", "fullmatch"), "search": ("match",), "fullmatch": ("match",)}


def _subjects(site: Site, statement: cst.CSTNode) -> list[cst.BaseExpression]:
    """Values the statement uses that a guard could test: local names and `self.x`-like
    attributes, used as a receiver, an index base, an argument or an operand; nearest use first."""
    found: dict[str, cst.BaseExpression] = {}
    for node in site.on_line:
        if isinstance(node, cst.Name):
            attribute_name = isinstance(site.parents.get(node), cst.Attribute) and site.parents[node].attr is node
            if site.contexts.get(node) is not ExpressionContext.LOAD or hasattr(builtins, node.value) or attribute_name:
                continue
        elif not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)
                  and site.contexts.get(node) is ExpressionContext.LOAD):
            continue
        parent = site.parents.get(node)
        if isinstance(parent, cst.Call) and parent.func is node:
            continue  # a function being called: guarding it is rarely the fix
        found.setdefault(site.code(node), node)
    return list(found.values())[:MAX_SUBJECTS]


def _insert_before(site: Site, statement: cst.CSTNode, code: str) -> Edit:
    block = site.parents[statement]
    body = list(block.body)
    i = next(k for k, s in enumerate(body) if s is statement)
    guard = cst.parse_statement(code)
    # The guard takes the statement's leading comments and blank lines, so they stay on top.
    guard = guard.with_changes(leading_lines=statement.leading_lines)
    body[i:i + 1] = [guard, statement.with_changes(leading_lines=())]
    return Edit(block, block.with_changes(body=body))


def _wrapped(statement: cst.CSTNode, wrapper: cst.BaseCompoundStatement) -> cst.BaseCompoundStatement:
    return wrapper.with_changes(leading_lines=statement.leading_lines)


def _indented(statement: cst.CSTNode) -> cst.IndentedBlock:
    return cst.IndentedBlock([statement.with_changes(leading_lines=())])


def guard(site: Site) -> Iterator[Edit]:
    """`if x is None: return None` (or `continue` in a loop), `if not x: return x`, and the
    statement run only `if x is not None`."""
    statement = site.block_statement()
    if statement is None or site.function(statement) is None:
        return
    leave = "continue" if site.in_loop(statement) else "return None"
    plain = isinstance(statement, cst.SimpleStatementLine) and not any(
        isinstance(s, (cst.Return, cst.Raise)) for s in statement.body)
    for subject in _subjects(site, statement):
        name = site.code(subject)
        if site.wanted:
            yield _insert_before(site, statement, f"if {name} is None:\n    raise {site.wanted}({name!r})\n")
        yield _insert_before(site, statement, f"if {name} is None:\n    {leave}\n")
        yield _insert_before(site, statement, f"if not {name}:\n    {'continue' if leave == 'continue' else 'return ' + name}\n")
        if plain:
            test = cst.parse_expression(f"{name} is not None")
            yield Edit(statement, _wrapped(statement, cst.If(test=test, body=_indented(statement))))


def bounds(site: Site) -> Iterator[Edit]:
    """An index past the end: `a[i]` read with `.get`, or guarded by `if i >= len(a)`."""
    statement = site.block_statement()
    for node in site.nodes(cst.Subscript):
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index) \
                or site.contexts.get(node) is not ExpressionContext.LOAD:
            continue
        index = node.slice[0].slice.value
        yield Edit(node, cst.Call(func=cst.Attribute(node.value, cst.Name("get")), args=[cst.Arg(index)]))
        if statement is not None and site.function(statement) is not None and isinstance(index, cst.Name):
            leave = "continue" if site.in_loop(statement) else "return None"
            yield _insert_before(site, statement, f"if {index.value} >= len({site.code(node.value)}):\n    {leave}\n")


def catch(site: Site) -> Iterator[Edit]:
    """The statement in `try: ... except E:` for the exception the reproduction raised."""
    statement = site.block_statement()
    if statement is None or site.function(statement) is None:
        return
    errors = [e for e in dict.fromkeys(reversed(site.errors)) if isinstance(getattr(builtins, e, None), type)]
    leaves = ["continue"] if site.in_loop(statement) else []
    leaves += ["return None", "pass"]
    for error in errors[:2]:
        if site.wanted and site.wanted != error:  # the issue asks for another exception than the one raised
            handler = cst.ExceptHandler(body=cst.IndentedBlock([cst.parse_statement(
                f"raise {site.wanted}(str(error)) from None")]), type=cst.Name(error),
                name=cst.AsName(cst.Name("error")))
            yield Edit(statement, _wrapped(statement, cst.Try(body=_indented(statement), handlers=[handler])))
        for leave in leaves:
            handler = cst.ExceptHandler(body=cst.IndentedBlock([cst.parse_statement(leave)]), type=cst.Name(error))
            yield Edit(statement, _wrapped(statement, cst.Try(body=_indented(statement), handlers=[handler])))


def convert(site: Site) -> Iterator[Edit]:
    """A call's result, an argument or a formatted value converted: `str(f(x))`, `f(list(x))`,
    `f"{int(x)}"`."""
    for node in site.nodes(cst.FormattedStringExpression):
        for conversion in CONVERSIONS:
            yield Edit(node, node.with_changes(expression=cst.Call(cst.Name(conversion), [cst.Arg(node.expression)])))
    for call in site.nodes(cst.Call):
        if isinstance(call.func, cst.Name) and call.func.value in CONVERSIONS:
            if len(call.args) == 1:  # a conversion that should not be there
                yield Edit(call, call.args[0].value)
            continue
        for conversion in CONVERSIONS:
            yield Edit(call, cst.Call(cst.Name(conversion), [cst.Arg(call)]))
        for i, arg in enumerate(call.args):
            if arg.star or not isinstance(arg.value, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
                continue
            for conversion in CONVERSIONS[:2]:
                args = list(call.args)
                args[i] = arg.with_changes(value=cst.Call(cst.Name(conversion), [cst.Arg(arg.value)]))
                yield Edit(call, call.with_changes(args=args))


def _pattern_edits(pattern: str) -> Iterator[str]:
    """Small rewrites of a regular expression: anchors, quantifiers, greediness, escaping a dot,
    and characters added to a character class."""
    if pattern.startswith("^"):
        yield pattern[1:]
    else:
        yield "^" + pattern
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        yield pattern[:-1]
        yield pattern[:-1] + r"\Z"
    else:
        yield pattern + "$"
    for match in re.finditer(r"(?<!\\)[+*?]", pattern):
        i, token = match.start(), match.group()
        after = pattern[i + 1:i + 2]
        if token == "?" and pattern[i - 1:i] in ("+", "*", "}"):
            yield pattern[:i] + pattern[i + 1:]  # lazy to greedy
            continue
        if token in "+*" and after != "?":
            yield pattern[:i + 1] + "?" + pattern[i + 1:]
        for other in {"+": "*?", "*": "+?", "?": "*+"}[token]:
            yield pattern[:i] + other + pattern[i + 1:]
    for match in re.finditer(r"(?<!\\)\.", pattern):
        yield pattern[:match.start()] + "\\." + pattern[match.end():]
    for match in re.finditer(r"(?<!\\)\[(\^?)((?:\\.|[^\]\\])+)\]", pattern):
        for extra in ("-", "_", ".", "0-9", "A-Z", "a-z", " "):
            if extra not in match.group(2):
                end = match.end() - 1
                yield pattern[:end] + (re.escape(extra) if extra in "-." else extra) + pattern[end:]


def _regex_literal(site: Site, node: cst.SimpleString) -> bool:
    """A string that is a pattern: the first argument of re.X(...), or assigned to a name like one."""
    parent = site.parents.get(node)
    call = site.parents.get(parent) if isinstance(parent, cst.Arg) else None
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value in REGEX_FUNCTIONS \
            and site.code(call.func.value) == "re":
        return call.args[0].value is node
    return isinstance(parent, cst.Assign) and any(
        re.search(r"re$|regex|pattern|_re_", site.code(t.target), re.I) for t in parent.targets)


def _compiled_here(site: Site) -> list[cst.SimpleString]:
    """Patterns compiled at module level into names this line uses (`WORD.findall(s)`): the
    line that runs a regular expression is suspicious, the fix goes where it is written."""
    used = {n.value for n in site.nodes(cst.Name)}
    found = []
    for statement in site.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) and small.value.args \
                    and isinstance(small.value.args[0].value, cst.SimpleString) \
                    and any(isinstance(t.target, cst.Name) and t.target.value in used for t in small.targets) \
                    and site.code(small.value.func) in ("re.compile", "compile"):
                found.append(small.value.args[0].value)
    return found


def regex(site: Site) -> Iterator[Edit]:
    literals = [n for n in site.nodes(cst.SimpleString) if _regex_literal(site, n)]
    for node in dict.fromkeys([*literals, *_compiled_here(site)]):
        pattern = ast.literal_eval(node.value)
        if not isinstance(pattern, str):
            continue
        prefix = node.prefix
        quote = node.quote
        for new in dict.fromkeys(_pattern_edits(pattern)):
            try:
                re.compile(new)
            except re.error:
                continue
            if "r" in prefix.lower():
                if new.endswith("\\") or quote in new:
                    continue
                literal = f"{prefix}{quote}{new}{quote}"
            else:
                literal = repr(new)
            yield Edit(node, node.with_changes(value=literal))
    for call in site.nodes(cst.Call):  # re.match <-> re.search / re.fullmatch
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "re":
            for other in MATCH_SWAPS.get(func.attr.value, ()):
                yield Edit(call, call.with_changes(func=func.with_changes(attr=cst.Name(other))))
            without_flags = {"compile": 1, "match": 2, "search": 2, "fullmatch": 2, "findall": 2}
            if len(call.args) == without_flags.get(func.attr.value):
                for flag in ("IGNORECASE", "MULTILINE", "DOTALL"):
                    args = [*call.args[:-1], call.args[-1].with_changes(comma=cst.Comma(
                        whitespace_after=cst.SimpleWhitespace(" "))), cst.Arg(cst.parse_expression(f"re.{flag}"))]
                    yield Edit(call, call.with_changes(args=args))


def delete(site: Site) -> Iterator[Edit]:
    """A statement that should not be there."""
    statement = site.block_statement()
    if statement is None:
        return
    block = site.parents[statement]
    body = [s for s in block.body if s is not statement]
    if body or isinstance(block, cst.IndentedBlock):
        yield Edit(block, block.with_changes(body=body or [cst.SimpleStatementLine([cst.Pass()])]))

"""Runs the code an issue quotes, inside the generated reproduction test.

The policy copies this file outside the repository (beside the spectrum plugin) and the
generated test imports it; like the plugin it imports nothing from the agent. A block is a list
of examples run in one namespace, as a REPL session would. Each example is observed (its output,
the str() of its value, the exception it raised) and, when the policy has decided what the issue
expects of it, checked. With DGM_SNIPPETS_OUT set, observations are appended to that JSON-lines
file, which is how the policy learns what the code does before any edit.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import os
import sys

_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _observe(example: dict, globs: dict) -> tuple[dict, Exception | None]:
    values: list = []

    def display(value):
        if value is not None:
            values.append(value)
            print(repr(value))

    stdout = io.StringIO()
    error, raised = None, None
    hook = sys.displayhook
    sys.displayhook = display
    try:
        code = compile(example["source"], "<issue snippet>", "single" if example["single"] else "exec")
        with contextlib.redirect_stdout(stdout):
            exec(code, globs)
    except Exception as e:  # the very thing an issue reports
        raised = e
        error = {"type": type(e).__name__, "message": str(e)[:500]}
    finally:
        sys.displayhook = hook
    text = str(values[-1]) if values else None
    return {"output": stdout.getvalue(), "str": text, "error": error}, raised


def matches(want: str, observed: dict) -> bool:
    """The output as doctest would compare it, or the value's str() (issues quote either)."""
    if doctest.OutputChecker().check_output(want.rstrip() + "\n", observed["output"], _FLAGS):
        return True
    return observed["str"] is not None and " ".join(observed["str"].split()) == " ".join(want.split())


def _check(check: dict, observed: dict, raised: Exception | None) -> str | None:
    if check["kind"] == "raises":
        if raised is None:
            return f"expected {check['error']} to be raised"
        if type(raised).__name__ != check["error"]:  # chained, so the report shows where it was raised
            raise AssertionError(f"expected {check['error']}, got {type(raised).__name__}") from raised
        return None
    if raised is not None:
        raise raised  # pytest then reports the repository frames the error went through
    if check["kind"] == "output" and not matches(check["want"], observed):
        return f"expected {check['want']!r}, got {observed['output'].strip() or observed['str']!r}"
    if check["kind"] == "not_output" and matches(check["want"], observed):
        return f"still gives the output the issue reports as wrong: {check['want']!r}"
    printed = {"output": observed["printed"], "str": None}
    lines = [{"output": line + "\n", "str": None} for line in observed["printed"].splitlines()]
    if check["kind"] == "stdout" and not any(matches(check["want"], o) for o in [printed, *lines]):
        return f"printed {observed['printed']!r}, expected {check['want']!r}"
    if check["kind"] == "not_stdout" and matches(check["want"], printed):
        return f"still prints what the issue reports as wrong: {check['want']!r}"
    return None


def run_block(block: dict) -> None:
    globs: dict = {"__name__": "__main__"}
    observations = []
    failure = None
    for example in block["examples"]:
        observed, raised = _observe(example, globs)
        observations.append(observed)
        check = example.get("check")
        if check and failure is None:
            printed = "".join(o["output"] for o in observations)  # the block's whole output so far
            try:
                failure = _check(check, {**observed, "printed": printed}, raised)
            except Exception:
                _record(block, observations)
                raise
        if raised is not None and not (check and check["kind"] == "raises"):
            break  # later examples depend on this one
    _record(block, observations)
    if failure:
        raise AssertionError(f"{block['name']}: {failure}")


def _record(block: dict, observations: list[dict]) -> None:
    out = os.environ.get("DGM_SNIPPETS_OUT")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps({"block": block["name"], "observations": observations}) + "\n")

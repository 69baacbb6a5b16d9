"""What the agent can do, as function-calling schemas and one dispatcher over the tools, and the
one fenced command of the text action format."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from tools.bash import cap_text, run_bash
from tools.code_index import CodeIndex
from tools.editor import VIEW_LIMIT, EditError, Editor
from tools.repo_map import repo_map
from tools.text_search import text_search

SUBMIT = "submit"
BASH_TIMEOUT = 120  # seconds per shell command
OUTPUT_CAP = 10_000  # characters of any tool's output shown (head and tail)
LINE_CAP = 300  # characters of one search hit or definition shown: a minified file's line can be megabytes
BASH_SEMANTICS = (
    f"Each command runs in a fresh `bash -c` whose working directory is the repository root: `cd`, "
    f"variables and background jobs do not carry over to the next command (chain with `&&`). "
    f"stdin is closed, so interactive programs (editors, pagers, prompts) cannot be used. A command "
    f"is killed after {BASH_TIMEOUT} s. stdout and stderr come back together; beyond "
    f"{OUTPUT_CAP:,} characters only the head and the tail are shown, with a note of how much was cut."
)


def _schema(tool: str, description: str, **params: tuple[str, str]) -> dict:
    required = [p for p, (kind, _) in params.items() if not kind.endswith("?")]
    properties = {p: {"type": kind.rstrip("?"), "description": text} for p, (kind, text) in params.items()}
    return {"type": "function", "function": {"name": tool, "description": description,
                                             "parameters": {"type": "object", "properties": properties,
                                                            "required": required}}}


SCHEMAS = [
    _schema("bash", f"Run a shell command. {BASH_SEMANTICS}", command=("string", "the command")),
    _schema("view", f"Show a file with line numbers (or list a directory), at most {VIEW_LIMIT} lines and "
                    f"{OUTPUT_CAP:,} characters (head and tail) a call.",
            path=("string", "relative path"), start=("integer?", "first line"), end=("integer?", "last line")),
    _schema("create", "Create a new file.", path=("string", "relative path"), text=("string", "content")),
    _schema("str_replace", "Replace text in a file; the old text need not match whitespace exactly.",
            path=("string", "relative path"), old=("string", "text to find"), new=("string", "replacement")),
    _schema("insert", "Insert text after a line (0 = top).", path=("string", "relative path"),
            line=("integer", "line number"), text=("string", "text to insert")),
    _schema("undo", "Undo the last edit of a file.", path=("string", "relative path")),
    _schema("apply_blocks", "Apply SEARCH/REPLACE blocks (path line, <<<<<<< SEARCH, =======, >>>>>>> REPLACE).",
            blocks=("string", "the blocks")),
    _schema("apply_diff", "Apply a unified diff.", diff=("string", "the diff")),
    _schema("find_definition", "Where a symbol is defined (fuzzy when no exact match).", name=("string", "symbol")),
    _schema("find_references", "Where a symbol is used.", name=("string", "symbol")),
    _schema("repo_map", "The most important definitions of the repository.", focus=("string?", "symbol or file to centre on")),
    _schema("search_text", f"Search the repository's text: at most 50 hits, each line cut at {LINE_CAP} characters.",
            pattern=("string", "text"), regex=("boolean?", "as a regex")),
    _schema(SUBMIT, "Finish: your changes to the repository (its `git diff`) are the answer. Other calls "
                    "in the same reply run first."),
]
PARAMETERS = {s["function"]["name"]: s["function"]["parameters"] for s in SCHEMAS}


def call_problem(name: str, arguments: dict | None, raw: str) -> str | None:
    """Why a tool call cannot run, in words for the model, or None when it can."""
    if name not in PARAMETERS:
        return f"there is no tool {name!r}; the tools are: {', '.join(PARAMETERS)}."
    if arguments is None:
        return (f"the arguments of {name} are not a JSON object ({raw[:200]!r}); nothing was run. "
                f"Send the call again with valid JSON arguments.")
    missing = [p for p in PARAMETERS[name]["required"] if p not in arguments]
    if missing:
        expected = ", ".join(f"{p} ({v['type']})" for p, v in PARAMETERS[name]["properties"].items())
        return f"the call to {name} lacks {', '.join(missing)}; nothing was run. Its parameters: {expected}."
    return None


# An opening fence is a line of ``` and an info string; a closing fence is a line of ``` alone.
# Matching pairs left to right means a closing fence is never taken for an opening one.
FENCE = re.compile(r"^```[ \t]*(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)


def fenced_commands(text: str) -> list[str]:
    """The ```bash (or ```sh) blocks of a text-format reply, in order."""
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) in ("bash", "sh")]


class Actions:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.editor = Editor(repo)
        # The index cache lives outside the repository so it never enters the patch; the host
        # may name one that an earlier agent on this task left (a warm start).
        cache = os.environ.get("DGM_INDEX_CACHE") or os.path.join(tempfile.gettempdir(), "dgm-agent-index")
        self.index = CodeIndex(repo, cache_dir=Path(cache))

    def run(self, name: str, args: dict) -> str:
        """The tool's output, or its error, as text for the model, at most OUTPUT_CAP characters
        (bash caps its own, where the command runs)."""
        try:
            output = self._dispatch(name, args)
        except (EditError, OSError, TypeError, KeyError, ValueError) as e:
            output = f"error: {e}"
        return output if name == "bash" else cap_text(output, OUTPUT_CAP)[0]

    def _dispatch(self, name: str, a: dict) -> str:
        if name == "bash":
            result = run_bash(a["command"], self.repo, timeout=BASH_TIMEOUT, max_output=OUTPUT_CAP)
            return f"exit code: {result.exit_code}\n{result.output}"
        if name == "view":
            return self.editor.view(a["path"], a.get("start"), a.get("end"))
        if name == "create":
            return self.editor.create(a["path"], a["text"])
        if name == "str_replace":
            return self.editor.str_replace(a["path"], a["old"], a["new"])
        if name == "insert":
            return self.editor.insert(a["path"], int(a["line"]), a["text"])
        if name == "undo":
            return self.editor.undo(a["path"])
        if name == "apply_blocks":
            return self.editor.apply_blocks(a["blocks"])
        if name == "apply_diff":
            return self.editor.apply_diff(a["diff"])
        if name in ("find_definition", "find_references", "repo_map"):
            self.index.refresh()
            if name == "repo_map":
                return repo_map(self.index, 1500, [a["focus"]] if a.get("focus") else ())
            found = (self.index.definitions(a["name"], fuzzy=True) if name == "find_definition"
                     else self.index.references(a["name"]))
            return "\n".join(f"{s.path}:{s.line}: {_line(s.text)}" for s in found) or f"no {name[5:]} of {a['name']}"
        if name == "search_text":
            hits = text_search(self.repo, a["pattern"], bool(a.get("regex")))
            return "\n".join(f"{h.path}:{h.line}: {_line(h.text)}" for h in hits) or "no match"
        return f"error: unknown tool {name!r}"


def _line(text: str) -> str:
    return text if len(text) <= LINE_CAP else f"{text[:LINE_CAP]} [... {len(text) - LINE_CAP} characters cut]"

"""The agent's file editor: view, create, str_replace, insert, undo, SEARCH/REPLACE blocks and
unified diffs, all placed with the match ladder of tools.matching. Writes are atomic; Python
that no longer parses is refused with the syntax error; every failure says how to retry."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from tools.matching import Ambiguous, NoMatch, locate

VIEW_LIMIT = 400  # lines one view shows at most


class EditError(Exception):
    """An edit that was not made; the message is meant for the model."""


_BLOCK = re.compile(
    r"^(?P<path>[^\n]*)\n(?:```[^\n]*\n)?<<<<<<< SEARCH\n(?P<search>.*?)^=======\n(?P<replace>.*?)^>>>>>>> REPLACE\s*$",
    re.M | re.S,
)


def _syntax_error(path: str, text: str) -> str | None:
    if not path.endswith(".py"):
        return None
    import libcst

    try:
        libcst.parse_module(text)
    except libcst.ParserSyntaxError as e:
        return f"line {e.raw_line}, column {e.raw_column}: {e.message}"
    return None


def replace_text(path: str, text: str, old: str, new: str) -> tuple[str, str]:
    """`text` with `old` replaced by `new` (placed by the match ladder), and a note of where."""
    count = text.count(old) if old else 0
    if count == 1:
        at = text.index(old)
        line = text.count("\n", 0, at) + 1
        return text[:at] + new + text[at + len(old):], f"line {line} (exact)"
    if count > 1:
        lines = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(re.escape(old), text)]
        raise EditError(f"the text to replace occurs {count} times in {path} (lines "
                        f"{', '.join(map(str, lines[:8]))}); include more context so it occurs once")
    try:
        match = locate(text, old, new)
    except (NoMatch, Ambiguous) as e:
        raise EditError(f"no change to {path}: {e}") from e
    lines = text.splitlines(keepends=True)
    new_text = "".join(lines[: match.start]) + match.replacement + "".join(lines[match.end:])
    if match.end == len(lines) and not text.endswith("\n") and new_text.endswith("\n"):
        new_text = new_text[:-1]  # the matcher ends every line; the file had no final newline
    return new_text, f"lines {match.start + 1}-{match.end} ({match.tier} match)"


class Editor:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._history: dict[str, list[str | None]] = {}

    def _path(self, path: str) -> Path:
        full = (self.root / path).resolve()
        if full != self.root and self.root not in full.parents:
            raise EditError(f"{path} is outside the repository")
        return full

    def _read(self, path: str) -> str:
        full = self._path(path)
        if not full.is_file():
            raise EditError(f"{path} does not exist (create it first)")
        return full.read_text()

    def _write(self, path: str, text: str | None) -> None:
        """Atomically replace the file (or delete it for None), remembering the old content."""
        full = self._path(path)
        if text is not None:
            error = _syntax_error(path, text)
            if error:
                raise EditError(f"the edit was not applied: {path} would no longer parse ({error})")
        self._history.setdefault(path, []).append(full.read_text() if full.exists() else None)
        if text is None:
            full.unlink()
            return
        full.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=full.parent, prefix=f".{full.name}.")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        if full.exists():
            os.chmod(tmp, full.stat().st_mode)
        os.replace(tmp, full)

    @staticmethod
    def _numbered(lines: list[str], first: int) -> str:
        return "".join(f"{first + i:6}\t{line if line.endswith(chr(10)) else line + chr(10)}"
                       for i, line in enumerate(lines))

    def view(self, path: str, start: int | None = None, end: int | None = None) -> str:
        full = self._path(path)
        if full.is_dir():
            entries = sorted(p.name + ("/" if p.is_dir() else "") for p in full.iterdir() if p.name != ".git")
            return "\n".join(entries) or "(empty directory)"
        lines = self._read(path).splitlines(keepends=True)
        first = max(1, start or 1)
        # an explicit range is capped too: one call never shows more than VIEW_LIMIT lines
        last = min(len(lines), end or len(lines), first + VIEW_LIMIT - 1)
        shown = self._numbered(lines[first - 1 : last], first)
        wanted = min(len(lines), end or len(lines))
        if last < wanted:
            shown += (f"\n(showing {VIEW_LIMIT} lines at most; {wanted - last} more "
                      f"{'in the range' if end else 'lines'}: view with start={last + 1})")
        return shown

    def create(self, path: str, text: str) -> str:
        if self._path(path).exists():
            raise EditError(f"{path} already exists: change it with str_replace or apply_blocks")
        self._write(path, text)
        return f"created {path} ({len(text.splitlines())} lines)"

    def str_replace(self, path: str, old: str, new: str) -> str:
        text = self._read(path)
        new_text, where = replace_text(path, text, old, new)
        self._write(path, new_text)
        return f"edited {path} at {where}"

    def insert(self, path: str, line: int, text: str) -> str:
        lines = self._read(path).splitlines(keepends=True)
        if not 0 <= line <= len(lines):
            raise EditError(f"line {line} is outside {path}, which has {len(lines)} lines (0 inserts at the top)")
        if text and not text.endswith("\n"):
            text += "\n"
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        self._write(path, "".join(lines[:line]) + text + "".join(lines[line:]))
        return f"inserted {len(text.splitlines())} line(s) after line {line} of {path}"

    def undo(self, path: str) -> str:
        history = self._history.get(path)
        if not history:
            raise EditError(f"no edit of {path} to undo")
        previous = history.pop()
        full = self._path(path)
        if previous is None:
            full.unlink(missing_ok=True)
        else:
            full.write_text(previous)
        return f"undid the last edit of {path}"

    def apply_blocks(self, text: str) -> str:
        """SEARCH/REPLACE blocks, each preceded by its file's path; an empty SEARCH creates the
        file (or appends to it). Blocks that match are applied even when others fail."""
        blocks = list(_BLOCK.finditer(text))
        if not blocks:
            raise EditError("no SEARCH/REPLACE block found; each needs a path line, then <<<<<<< SEARCH, "
                            "the lines to find, =======, the new lines, >>>>>>> REPLACE")
        done, failed = [], []
        for i, block in enumerate(blocks, 1):
            path = block["path"].strip().strip("`*").strip()
            try:
                if not block["search"].strip():
                    full = self._path(path)
                    self._write(path, (full.read_text() if full.exists() else "") + block["replace"])
                    done.append(f"block {i}: wrote {path}")
                    continue
                new_text, where = replace_text(path, self._read(path), block["search"], block["replace"])
                self._write(path, new_text)
                done.append(f"block {i}: edited {path} at {where}")
            except EditError as e:
                failed.append(f"block {i} ({path}) failed: {e}")
        if failed and not done:
            raise EditError("\n".join(failed))
        report = "\n".join(done)
        if failed:
            report += "\n" + "\n".join(failed) + "\nThe other blocks were applied; resend only the failed ones."
        return report

    def apply_diff(self, diff: str) -> str:
        """A unified diff; each hunk is located by its content (line numbers may have drifted)."""
        files = re.split(r"^(?=--- )", diff, flags=re.M)
        done = []
        for section in files:
            header = re.match(r"--- (\S+)[^\n]*\n\+\+\+ (\S+)[^\n]*\n", section)
            if not header:
                continue
            old_name, new_name = header.group(1), header.group(2)
            path = (new_name if new_name != "/dev/null" else old_name).removeprefix("b/").removeprefix("a/")
            hunks = re.split(r"^@@[^\n]*@@[^\n]*\n", section[header.end():], flags=re.M)[1:]
            if old_name == "/dev/null":
                self.create(path, "".join(l[1:] + "\n" for h in hunks for l in h.splitlines() if l.startswith("+")))
                done.append(f"created {path}")
                continue
            if new_name == "/dev/null":
                self._read(path)
                self._write(path, None)
                done.append(f"deleted {path}")
                continue
            text = self._read(path)
            for n, hunk in enumerate(hunks, 1):
                old = [l[1:] for l in hunk.splitlines() if l[:1] in (" ", "-") or l == ""]
                new = [l[1:] for l in hunk.splitlines() if l[:1] in (" ", "+") or l == ""]
                try:
                    text, _ = replace_text(path, text, "".join(x + "\n" for x in old), "".join(x + "\n" for x in new))
                except EditError as e:
                    raise EditError(f"hunk {n} of {path} did not apply (no file was changed by it): {e}") from e
            self._write(path, text)
            done.append(f"edited {path} ({len(hunks)} hunk(s))")
        if not done:
            raise EditError("no file in the diff: it needs '--- a/path' and '+++ b/path' lines and @@ hunks")
        return "\n".join(done)

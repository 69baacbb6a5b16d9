"""What a patch changes, read the way `git apply` reads it: every file section it would act on,
with its names, modes, kind (create, delete, rename, copy) and whether it is binary.

The reader follows git's own parser (apply.c: find_header, parse_git_diff_header,
parse_traditional_patch, parse_fragment, parse_binary) line for line, so a `--- /dev/null` /
`+++ b/conftest.py` section hidden after a hunk of another file, a `rename to`, a `copy to`, a
mode line or a `diff --git` header whose `---`/`+++` names differ from it are all seen as git
sees them. Then git itself checks the reading: `git apply --numstat --summary` on the same text
must list the same files, line counts and mode events in the same order. Where the two differ,
or git cannot read the patch, `PatchError` is raised: nothing is graded or committed from a
patch whose effect is not known exactly (fail closed). Parsing in Python rather than applying in
a scratch checkout keeps the sections' text, so callers can drop some sections and keep the rest
byte for byte, and needs no preimage (the grader's host has no checkout of a SWE-bench image).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from dataclasses import dataclass

from dgm.errors import DgmError

SYMLINK, GITLINK, DIRECTORY = 0o120000, 0o160000, 0o040000


class PatchError(DgmError):
    """A patch that git cannot read, or that this reader reads differently from git."""


@dataclass(frozen=True)
class FileChange:
    """One file section of a patch, as git applies it."""

    old_path: str | None  # None when the section creates the file
    new_path: str | None  # None when it deletes the file
    old_mode: int | None
    new_mode: int | None
    kind: str  # modify | create | delete | rename | copy
    binary: bool
    added: int
    deleted: int
    text: str  # the section exactly as it stands in the patch
    canonical: str  # the same section with every name written once, unambiguously (`_canonical`)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    @property
    def paths(self) -> tuple[str, ...]:
        """Every name the section touches: both sides of a rename or copy."""
        return tuple(dict.fromkeys(p for p in (self.old_path, self.new_path) if p))

    @property
    def name(self) -> str:
        """How a verdict names the section: `old => new` for a rename or copy."""
        both = self.old_path and self.new_path and self.old_path != self.new_path
        return f"{self.old_path} => {self.new_path}" if both else self.path

    @property
    def special_mode(self) -> bool:
        """A symlink, a submodule or a directory on either side: never a plain file edit."""
        return any(m is not None and m & 0o170000 in (SYMLINK, GITLINK, DIRECTORY)
                   for m in (self.old_mode, self.new_mode))

    @property
    def creates(self) -> bool:
        """The section brings a file into being under its new name."""
        return self.kind in ("create", "rename", "copy")


def read_patch(diff: str) -> list[FileChange]:
    """Every file section `git apply` would act on in `diff`, checked against git's own reading."""
    if not diff.strip():
        return []
    changes = _Reader(diff).read()
    _check_with_git(diff, changes)
    return changes


# --- git's parser ------------------------------------------------------------------------------

_FRAGMENT = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def _canon_mode(mode: int) -> int:
    kind = mode & 0o170000
    if kind == 0o100000:
        return 0o100755 if mode & 0o100 else 0o100644
    return kind if kind in (SYMLINK, DIRECTORY) else GITLINK


# the C escapes git uses in a quoted name (any other byte outside printable ASCII: three octal digits)
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def _unquote(text: str) -> str | None:
    """A C-quoted name as git writes it ("a/sp\\303\\251ce"), or None if `text` is not one."""
    if not text.startswith('"'):
        return None
    out, i = bytearray(), 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return out.decode("utf-8", errors="surrogateescape")
        if c == "\\":
            nxt = text[i + 1:i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if re.match(r"[0-3][0-7]{2}", text[i + 1:i + 4]):
                out.append(int(text[i + 1:i + 4], 8))
                i += 4
                continue
            return None
        out += c.encode("utf-8", errors="surrogateescape")
        i += 1
    return None


def _strip(name: str, p_value: int) -> str | None:
    for _ in range(p_value):
        cut = name.find("/")
        if cut < 0:
            return None
        name = name[cut + 1:]
    return re.sub("/+", "/", name)


def _find_name(line: str, p_value: int, tab_ends: bool, default: str | None = None) -> str | None:
    """git's find_name: a quoted name, else the text up to the line's end (or a tab) with
    `p_value` leading components dropped; the shorter `default` wins if the name extends it."""
    quoted = _unquote(line)
    if quoted is not None:
        return _strip(quoted, p_value)
    end = len(line)
    for i, c in enumerate(line):
        if c == "\n" or (c.isspace() and c not in " \t") or (c == "\t" and tab_ends):
            end = i
            break
    name = line[:end]
    if p_value:
        parts = name.split("/", p_value)
        if len(parts) <= p_value:
            return default
        name = parts[-1]
    if not name:
        return default
    if default and len(default) < len(name) and name.startswith(default):
        return default
    return re.sub("/+", "/", name)


def _git_header_name(rest: str, p_value: int) -> str | None:
    """The name on a `diff --git` line when both sides name the same file (git_header_name)."""
    rest = rest.rstrip("\n")
    if rest.startswith('"'):
        end = _quoted_end(rest)
        first = _unquote(rest[:end]) if end else None
        if first is None or not rest[end:end + 1] == " ":
            return None
        second = _unquote(rest[end + 1:]) if rest[end + 1:].startswith('"') else rest[end + 1:]
        a, b = _strip(first, p_value), _strip(second or "", p_value)
        return a if a and a == b else None
    if rest.split(" ", 1)[-1].startswith('"'):
        first, second = rest.split(" ", 1)
        a, b = _strip(first, p_value), _strip(_unquote(second) or "", p_value)
        return a if a and a == b else None
    for i, c in enumerate(rest):
        if c == " ":
            a, b = _strip(rest[:i], p_value), _strip(rest[i + 1:], p_value)
            if a and a == b:
                return a
    return None


def _quoted_end(text: str) -> int:
    i = 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return 0


def _is_dev_null(line: str) -> bool:
    return line.startswith("/dev/null") and line[9:10].isspace()


class _Reader:
    def __init__(self, diff: str) -> None:
        self.lines = re.findall(r"[^\n]*\n|[^\n]+$", diff)
        self.p_value, self.p_known = 1, False

    def read(self) -> list[FileChange]:
        changes, at = [], 0
        while True:
            found = self._find_header(at)
            if found is None:
                return changes
            start, header_end, patch = found
            end = self._fragments(header_end, patch)
            change = self._change(patch, "".join(self.lines[start:end]))
            header = _canonical(change, patch, self.lines[start:header_end])
            changes.append(dataclasses.replace(change, canonical="".join(header + self.lines[header_end:end])))
            at = end

    def _error(self, message: str, number: int) -> PatchError:
        return PatchError(f"{message} at line {number + 1} of the patch")

    def _find_header(self, at: int) -> tuple[int, int, dict] | None:
        lines = self.lines
        for i in range(at, len(lines)):
            line = lines[i]
            if len(line) < 6:
                continue
            if line.startswith("@@ -") and _FRAGMENT.match(line) and line.endswith("\n"):
                raise self._error("a hunk without a file header", i)
            if i + 1 >= len(lines):
                return None
            if line.startswith("diff --git "):
                patch = {"is_new": 0, "is_delete": 0}
                end = self._git_header(i, patch)
                if end == i + 1:
                    continue
                return i, end, patch
            if not (line.startswith("--- ") and lines[i + 1].startswith("+++ ")):
                continue
            if i + 2 >= len(lines) or not lines[i + 2].startswith("@@ -"):
                continue
            patch = {"is_new": -1, "is_delete": -1}
            self._traditional(line[4:], lines[i + 1][4:], patch, i)
            return i, i + 2, patch
        return None

    def _guess_p(self, line: str) -> int:
        if _is_dev_null(line):
            return -1
        name = _find_name(line, 0, tab_ends=True)
        if not name:
            return -1
        return 1 if "/" in name else 0

    def _traditional(self, first: str, second: str, patch: dict, number: int) -> None:
        if not self.p_known:
            p, q = self._guess_p(first), self._guess_p(second)
            p = q if p < 0 else p
            if 0 <= p == q:
                self.p_value, self.p_known = p, True
        if _is_dev_null(first):
            patch.update(is_new=1, is_delete=0, new_name=_find_name(second, self.p_value, tab_ends=True))
            name = patch["new_name"]
        elif _is_dev_null(second):
            patch.update(is_new=0, is_delete=1, old_name=_find_name(first, self.p_value, tab_ends=True))
            name = patch["old_name"]
        else:
            name = _find_name(second, self.p_value, True, _find_name(first, self.p_value, tab_ends=True))
            patch.update(old_name=name, new_name=name)
        if not name:
            raise self._error("no file name in the patch", number)

    def _git_header(self, start: int, patch: dict) -> int:
        lines = self.lines
        default = _git_header_name(lines[start][len("diff --git "):], self.p_value)
        i = start + 1
        while i < len(lines):
            line = lines[i]
            if not line.endswith("\n"):
                break
            if line.startswith("@@ -"):
                break
            if line.startswith("--- ") or line.startswith("+++ "):
                side, isnull = ("old_name", patch["is_new"]) if line[0] == "-" else ("new_name", patch["is_delete"])
                value = line[4:]
                if not patch.get(side) and not isnull:
                    patch[side] = _find_name(value, self.p_value, tab_ends=True)
                elif patch.get(side):
                    if isnull or _find_name(value, self.p_value, tab_ends=True) != patch[side]:
                        raise self._error("inconsistent file names in a git header", i)
                elif not _is_dev_null(value):
                    raise self._error("expected /dev/null in a git header", i)
            elif line.startswith(("old mode ", "new mode ")):
                patch["old_mode" if line[0] == "o" else "new_mode"] = self._mode(line[9:], i)
            elif line.startswith("deleted file mode "):
                patch.update(is_delete=1, old_name=default, old_mode=self._mode(line[18:], i))
            elif line.startswith("new file mode "):
                patch.update(is_new=1, new_name=default, new_mode=self._mode(line[14:], i))
            elif line.startswith(("copy from ", "rename old ", "rename from ", "copy to ", "rename new ", "rename to ")):
                kind, side, name = line.split(" ", 2)  # these names carry no a/ or b/ prefix
                side = "old_name" if side in ("from", "old") else "new_name"
                patch.update({f"is_{kind}": 1, side: _find_name(name, max(0, self.p_value - 1), False)})
            elif line.startswith(("similarity index ", "dissimilarity index ")):
                pass
            elif line.startswith("index "):
                mode = re.match(r"index [^.\n]*\.\.[^ \n]* (.*\n)", line)
                if mode:
                    patch["old_mode"] = self._mode(mode.group(1), i)
            else:
                break
            extensions = sum(patch.get(k, 0) == 1 for k in ("is_delete", "is_new", "is_rename", "is_copy"))
            if extensions > 1:
                raise self._error("inconsistent git header lines", i)
            i += 1
        if not patch.get("old_name") and not patch.get("new_name"):
            if not default:
                raise self._error("a git header without file names", start)
            patch.update(old_name=default, new_name=default)
        if (not patch.get("new_name") and not patch["is_delete"]) or (not patch.get("old_name") and not patch["is_new"]):
            raise self._error("a git header without file names", start)
        return i

    def _mode(self, text: str, number: int) -> int:
        digits = re.match(r"[0-7]+(?=\s)", text)
        if not digits:
            raise self._error("an invalid mode", number)
        return _canon_mode(int(digits.group(0), 8))

    def _fragments(self, at: int, patch: dict) -> int:
        lines, i = self.lines, at
        added = deleted = oldlines = newlines = count = 0
        while i < len(lines) and len(lines[i]) > 4 and lines[i].startswith("@@ -"):
            m = _FRAGMENT.match(lines[i])
            if not m or not lines[i].endswith("\n"):
                raise self._error("a corrupt hunk header", i)
            old, new = int(m.group(2) or 1), int(m.group(4) or 1)
            oldlines, newlines, count = oldlines + old, newlines + new, count + 1
            i += 1
            fragment_added = fragment_deleted = 0
            while old or new:
                if i >= len(lines) or not lines[i].endswith("\n"):
                    raise self._error("a corrupt patch", i)
                c = lines[i][0]
                if c in " \n":
                    old, new = old - 1, new - 1
                elif c == "-":
                    old, fragment_deleted = old - 1, fragment_deleted + 1
                elif c == "+":
                    new, fragment_added = new - 1, fragment_added + 1
                elif not (c == "\\" and len(lines[i]) >= 12 and lines[i].startswith("\\ ")):
                    raise self._error("a corrupt patch", i)
                i += 1
            if old < 0 or new < 0 or not (fragment_added or fragment_deleted):
                raise self._error("a corrupt patch", i)
            if i < len(lines) and len(lines[i]) > 12 and lines[i].startswith("\\ "):
                i += 1
            added, deleted = added + fragment_added, deleted + fragment_deleted
        if patch["is_new"] < 0 and (oldlines or count > 1):
            patch["is_new"] = 0
        if patch["is_delete"] < 0 and (newlines or count > 1):
            patch["is_delete"] = 0
        if patch["is_new"] > 0 and oldlines or patch["is_delete"] > 0 and newlines:
            raise self._error("a creation or deletion with the wrong contents", i)
        patch.update(added=added, deleted=deleted)
        if count == 0 and i < len(lines):
            return self._binary(i, patch)
        return i

    def _binary(self, i: int, patch: dict) -> int:
        lines = self.lines
        if lines[i] == "GIT binary patch\n":
            i += 1
            for hunk in range(2):
                if i >= len(lines) or not lines[i].startswith(("literal ", "delta ")):
                    if hunk == 0:
                        raise self._error("an unrecognised binary patch", i)
                    break
                i += 1
                while i < len(lines) and lines[i] != "\n":
                    i += 1
                if i >= len(lines):
                    raise self._error("a corrupt binary patch", i)
                i += 1
            patch["binary"] = True
        elif lines[i].endswith(" differ\n") and lines[i].startswith(("Binary files ", "Files ")):
            patch["binary"] = True
            i += 1
        return i

    @staticmethod
    def _change(patch: dict, text: str) -> FileChange:
        # the order of git's summary: a creation or deletion (-1: git could not tell) first
        kind = ("create" if patch["is_new"] else "delete" if patch["is_delete"] else "rename"
                if patch.get("is_rename") else "copy" if patch.get("is_copy") else "modify")
        old = None if kind == "create" else patch.get("old_name")
        new = None if kind == "delete" else patch.get("new_name")
        binary = patch.get("binary", False)
        return FileChange(old, new, patch.get("old_mode"), patch.get("new_mode"), kind, binary,
                          0 if binary else patch["added"], 0 if binary else patch["deleted"], text, text)


# --- one name per side, for every reader of the patch -------------------------------------------

def _quote(name: str) -> str:
    """A name as git writes it, quoted (C style, bytes above 0x7f in octal) if it holds anything but
    printable ASCII without spaces: GNU patch ends an unquoted name at a space, git does not."""
    data = name.encode("utf-8", errors="surrogateescape")
    if all(0x20 < b < 0x7f and b not in b'"\\' for b in data):
        return name
    escapes = {byte: letter for letter, byte in _ESCAPES.items()}
    return '"' + "".join(f"\\{escapes[b]}" if b in escapes else chr(b) if 0x20 <= b < 0x7f else f"\\{b:03o}"
                         for b in data) + '"'


def _canonical(change: FileChange, patch: dict, header: list[str]) -> list[str]:
    """The section's header with its names rewritten from git's reading: `a/OLD` and `b/NEW` (or
    /dev/null) on the `diff --git`, `---` and `+++` lines, `rename`/`copy` lines naming the same.
    `git apply` and GNU `patch` (the grader's fallback) read other names differently: `patch`
    takes a creation's `---` name that git ignores, cuts a name at a space, prefers the shortest
    of two names. Written this way, each side has one name both tools agree on."""
    old = change.old_path or change.new_path or ""
    new = change.new_path or change.old_path or ""
    minus = "/dev/null" if patch["is_new"] == 1 else _quote("a/" + old)
    plus = "/dev/null" if patch["is_delete"] == 1 else _quote("b/" + new)
    if not header[0].startswith("diff --git "):
        return [f"--- {minus}\n", f"+++ {plus}\n"]
    out = [f"diff --git {_quote('a/' + old)} {_quote('b/' + new)}\n"]
    for line in header[1:]:
        if line.startswith("--- "):
            line = f"--- {minus}\n"
        elif line.startswith("+++ "):
            line = f"+++ {plus}\n"
        elif line.startswith(("copy from ", "rename from ", "rename old ")):
            line = f"{line.split(' ')[0]} from {_quote(old)}\n"
        elif line.startswith(("copy to ", "rename to ", "rename new ")):
            line = f"{line.split(' ')[0]} to {_quote(new)}\n"
        out.append(line)
    return out


# --- git's own reading, to check ours ----------------------------------------------------------

_SUMMARY = re.compile(r"^ (create|delete) mode (\d+) |^ mode change (\d+) => (\d+)|^ (rename|copy) ", re.M)


def _check_with_git(diff: str, changes: list[FileChange]) -> None:
    data = diff.encode("utf-8", errors="surrogateescape")
    proc = subprocess.run(["git", "apply", "--numstat", "-z", "--summary", "-"], input=data,
                          capture_output=True, cwd="/")
    if proc.returncode != 0:
        raise PatchError(f"git cannot read the patch: {proc.stderr.decode(errors='replace').strip()[-300:]}")
    records = proc.stdout.split(b"\0")
    numstat = records[:len(changes)]
    summary = b"\0".join(records[len(changes):]).decode("utf-8", errors="surrogateescape")
    ours = [f"{'-' if c.binary else c.added}\t{'-' if c.binary else c.deleted}\t{c.path}" for c in changes]
    theirs = [r.decode("utf-8", errors="surrogateescape") for r in numstat]
    if ours != theirs or summary.count("\0"):
        raise PatchError("git reads the patch's files differently from dgm's reader "
                         f"(git: {theirs[:5]}, dgm: {ours[:5]}): refused, as its effect is not known")
    if _mode_events(changes) != [tuple(g for g in m.groups() if g) for m in _SUMMARY.finditer(summary)]:
        raise PatchError("git reads the patch's file modes differently from dgm's reader: refused, "
                         "as its effect is not known")


def _mode_events(changes: list[FileChange]) -> list[tuple[str, ...]]:
    """The events of `git apply --summary` that name modes, as ours would print them."""
    events = []
    for c in changes:
        if c.kind in ("rename", "copy"):
            events.append((c.kind,))
        elif c.kind in ("create", "delete"):
            mode = c.new_mode if c.kind == "create" else c.old_mode
            if mode:
                events.append((c.kind, f"{mode:06o}"))
            continue
        if c.old_mode and c.new_mode and c.old_mode != c.new_mode:
            events.append((f"{c.old_mode:06o}", f"{c.new_mode:06o}"))
    return events

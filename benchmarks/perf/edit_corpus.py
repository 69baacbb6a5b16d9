"""Edit cases made from real code with the mistakes models make. Deterministic for a seed.

The code is read at run time from several code bases on this machine: the Python standard
library and the installed packages in CODE_BASES (rich, networkx, docker, GitPython, libcst),
each drawn equally often. Nothing of theirs is copied into this repository.

Each case is a file, a search text and a replacement as a model would send them, and the one
correct outcome: the file with the intended lines replaced, or a refusal when the target is
ambiguous or absent.
"""

from __future__ import annotations

import importlib.util
import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path

KINDS = ("exact", "whitespace_drift", "uniform_indent", "level_indent", "elision", "stale_line", "typo",
         "blank_lines", "tabs", "dedent_boundary", "trailing_blank", "repeated_elision", "ambiguous", "absent")
CODE_BASES = ("rich", "networkx", "docker", "git", "libcst")


@dataclass(frozen=True)
class EditCase:
    kind: str
    source: str  # e.g. "stdlib:json/decoder.py:120"
    text: str
    search: str
    replace: str
    expected: str | None  # None: the only right answer is to refuse


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _inside(line: str) -> bool:
    """A non-blank line indented into a def or class."""
    return bool(line.strip()) and _indent(line) >= 4


def _fits(kind: str, window: list[str]) -> bool:
    """Whether a window of lines can carry this kind of mistake."""
    if kind == "blank_lines":  # blank lines inside, to drop, double or add to
        return (_inside(window[0]) and _inside(window[-1]) and any(not l.strip() for l in window)
                and all(_inside(l) or not l.strip() for l in window))
    if kind == "dedent_boundary":  # out of one block and into the next def or class
        return (_inside(window[0]) and _inside(window[-1]) and all(_indent(l) % 4 == 0 for l in window if l.strip())
                and any(l.lstrip().startswith(("def ", "class ", "async def ")) and _indent(l) < _indent(window[0])
                        for l in window[1:-1]))
    return all(_inside(l) for l in window)


def _starts(lines: list[str], rng: random.Random, size: int, fits) -> list[int]:
    starts = [i for i in range(len(lines) - size) if fits(lines[i : i + size])]
    rng.shuffle(starts)
    return starts[:20]


def _content(lines: list[str]) -> str:
    return "".join(" ".join(l.split()) + "\n" for l in lines if l.strip())


def _tabify(line: str) -> str:
    """Leading groups of four spaces as tabs (what remains aligns, as in tab-indented code)."""
    n = _indent(line) if line.strip() else 0
    return "\t" * (n // 4) + " " * (n % 4) + line[n:]


def _halve(line: str) -> str:
    return " " * (_indent(line) // 2) + line.lstrip(" ") if line.strip() else line


def _typo(line: str, rng: random.Random) -> str | None:
    positions = [i for i, ch in enumerate(line) if ch.isalpha()]
    if not positions:
        return None
    p = rng.choice(positions)
    return line[:p] + ("x" if line[p] != "x" else "y") + line[p + 1:]


def _edit(window: list[str], start: int, rng: random.Random) -> list[str]:
    """The intended change: the window's last line replaced."""
    return window[:-1] + [f"{' ' * _indent(window[-1])}edited_{start} = {rng.randint(0, 99)}\n"]


def _case(kind: str, rel: str, lines: list[str], rng: random.Random) -> EditCase | None:
    text = "".join(lines)
    if not text.endswith("\n"):
        return None
    if kind in ("elision", "repeated_elision"):
        size = rng.randint(6, 9)
    elif kind in ("blank_lines", "dedent_boundary"):
        size = rng.randint(4, 9)
    else:
        size = rng.randint(3, 7)
    for start in _starts(lines, rng, size, lambda window: _fits(kind, window)):
        window = lines[start : start + size]
        if text.count("".join(window)) != 1:
            continue
        edited = _edit(window, start, rng)
        expected = "".join(lines[:start] + edited + lines[start + size:])
        search, replace = "".join(window), "".join(edited)
        if kind == "whitespace_drift":
            search = "".join(l.rstrip("\n") + "  \n" if i % 2 else l.replace(" = ", "  =  ", 1)
                             for i, l in enumerate(window))
        elif kind == "uniform_indent":
            cut = min(_indent(l) for l in window)
            search = "".join(l[cut:] for l in window)
            replace = "".join(l[cut:] for l in edited)
        elif kind == "level_indent":
            if len({_indent(l) for l in window}) < 2 or any(_indent(l) % 4 for l in window):
                continue
            search, replace = "".join(map(_halve, window)), "".join(map(_halve, edited))
        elif kind == "elision":
            if _content(window[-2:]) in _content(window[2:-1]):
                continue  # the nearest copy of the last piece would be in the elided lines
            marker = " " * _indent(window[2]) + "...\n"
            search = "".join(window[:2] + [marker] + window[-2:])
            replace = "".join(edited[:2] + [marker] + edited[-2:])
        elif kind == "stale_line":
            k = rng.randrange(size - 1)
            stale = window[k].rstrip("\n") + "  # old\n"
            search = "".join(window[:k] + [stale] + window[k + 1:])
        elif kind == "typo":
            k = rng.randrange(size - 1)
            typo = _typo(window[k], rng)
            if typo is None:
                continue
            search = "".join(window[:k] + [typo] + window[k + 1:])
        elif kind == "blank_lines":
            # the model remembers the blank lines wrong, in its search and its replacement alike
            blanks = [i for i, l in enumerate(window) if not l.strip()]
            drift = rng.choice(("drop", "double", "add"))
            if drift == "drop":
                cut = lambda w: [l for i, l in enumerate(w) if i not in blanks]  # noqa: E731
            elif drift == "double":
                cut = lambda w: [x for i, l in enumerate(w) for x in ([l, l] if i in blanks else [l])]  # noqa: E731
            else:
                k = rng.choice([i for i in range(size - 1) if i not in blanks and i + 1 not in blanks] or [0])
                cut = lambda w: w[: k + 1] + ["\n"] + w[k + 1:]  # noqa: E731
            search, replace = "".join(cut(window)), "".join(cut(edited))
        elif kind == "tabs":
            if rng.random() < 0.5:  # a tab-indented file, the model writes spaces
                text = "".join(map(_tabify, lines))
                expected = "".join(map(_tabify, expected.splitlines(keepends=True)))
            else:  # a space-indented file, the model writes tabs
                search, replace = "".join(map(_tabify, window)), "".join(map(_tabify, edited))
        elif kind == "dedent_boundary":
            # the search crosses the end of one block into the next def, mis-indented by level,
            # and the replacement opens a new nested block
            body = " " * _indent(window[-1])
            edited = window[:-1] + [f"{body}if edited_{start}:\n", f"{body}    return {rng.randint(0, 99)}\n"]
            expected = "".join(lines[:start] + edited + lines[start + size:])
            model = list(window)
            if rng.random() < 0.5:
                k = rng.choice([i for i, l in enumerate(window[:-1]) if l.strip()])
                model[k] = _typo(window[k], rng) or window[k]
            search, replace = "".join(map(_halve, model)), "".join(map(_halve, edited))
        elif kind == "trailing_blank":
            if start + size >= len(lines) or not lines[start + size].strip():
                continue
            if rng.random() < 0.5:
                search, replace = search + "\n", replace + "\n"
            else:
                search, replace = "\n" + search, "\n" + replace
        elif kind == "repeated_elision":
            # the last kept piece occurs again further down: the nearest one is meant
            # (and not in the elided lines, where the nearest one would be another line)
            if (window[-1] not in lines[start + size:] or window[-1] in window[2:-1]
                    or text.count("".join(window[:2])) != 1):
                continue
            marker = " " * _indent(window[2]) + "# ... existing code ...\n"
            search = "".join(window[:2] + [marker] + window[-1:])
            replace = "".join(edited[:2] + [marker] + edited[-1:])
        elif kind == "ambiguous":
            if _indent(window[0]) != 4:
                continue
            # the same lines again elsewhere in the file: no edit can know which one was meant
            text = text + "\nclass _Copy:\n" + "".join(window)
            expected = None
        elif kind == "absent":
            # the lines were removed from the file (the model works from an older version), and
            # no copy of them remains, blank lines and whitespace aside
            text = "".join(lines[:start] + lines[start + size:])
            if _content(window) in _content(text.splitlines(keepends=True)):
                continue
            expected = None
        return EditCase(kind, f"{rel}:{start + 1}", text, search, replace, expected)
    return None


def code_bases() -> dict[str, Path]:
    """Name -> root of each code base present on this machine."""
    roots = {"stdlib": Path(sysconfig.get_paths()["stdlib"])}
    for name in CODE_BASES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            roots[name] = Path(next(iter(spec.submodule_search_locations)))
    if len(roots) < 2:
        raise RuntimeError(f"only the standard library is installed; the corpus needs one of {', '.join(CODE_BASES)}")
    return roots


def source_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "test" not in p.parts and "tests" not in p.parts
                  and "site-packages" not in p.relative_to(root).parts and 200 < p.stat().st_size < 200_000)


def build_corpus(cases: int, seed: int) -> list[EditCase]:
    rng = random.Random(seed)
    roots = code_bases()
    files = {name: source_files(root) for name, root in roots.items()}
    out: list[EditCase] = []
    per_kind = -(-cases // len(KINDS))
    for kind in KINDS:
        made = 0
        while made < per_kind:
            name = rng.choice(sorted(files))
            path = rng.choice(files[name])
            try:
                lines = path.read_text().splitlines(keepends=True)
            except UnicodeDecodeError:
                continue
            case = _case(kind, f"{name}:{path.relative_to(roots[name])}", lines, rng)
            if case is not None:
                out.append(case)
                made += 1
    return out

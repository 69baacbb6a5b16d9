"""Edit cases made from real code (this machine's Python standard library) with the mistakes
models make. Deterministic for a seed.

Each case is a file, a search text and a replacement as a model would send them, and the one
correct outcome: the file with the intended lines replaced, or a refusal when the target is
ambiguous.
"""

from __future__ import annotations

import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path

KINDS = ("exact", "whitespace_drift", "uniform_indent", "level_indent", "elision", "stale_line", "typo", "ambiguous")


@dataclass(frozen=True)
class EditCase:
    kind: str
    source: str  # e.g. "json/decoder.py:120"
    text: str
    search: str
    replace: str
    expected: str | None  # None: the only right answer is to refuse


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _windows(lines: list[str], rng: random.Random, size: int) -> list[int]:
    """Starts of windows of `size` lines, all non-blank and indented (inside a def or class)."""
    starts = [i for i in range(len(lines) - size) if all(l.strip() and _indent(l) >= 4 for l in lines[i : i + size])]
    rng.shuffle(starts)
    return starts


def _case(kind: str, rel: str, lines: list[str], rng: random.Random) -> EditCase | None:
    size = rng.randint(6, 9) if kind == "elision" else rng.randint(3, 7)
    text = "".join(lines)
    for start in _windows(lines, rng, size)[:20]:
        window = lines[start : start + size]
        if text.count("".join(window)) != 1:
            continue
        indent = " " * _indent(window[-1])
        edited = window[:-1] + [f"{indent}edited_{start} = {rng.randint(0, 99)}\n"]
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
            halve = lambda ls: "".join(" " * (_indent(l) // 2) + l.lstrip() for l in ls)  # noqa: E731
            search, replace = halve(window), halve(edited)
        elif kind == "elision":
            marker = " " * _indent(window[2]) + "...\n"
            search = "".join(window[:2] + [marker] + window[-2:])
            replace = "".join(edited[:2] + [marker] + edited[-2:])
        elif kind == "stale_line":
            k = rng.randrange(size - 1)
            stale = window[k].rstrip("\n") + "  # old\n"
            search = "".join(window[:k] + [stale] + window[k + 1:])
        elif kind == "typo":
            k = rng.randrange(size - 1)
            line = window[k]
            positions = [i for i, ch in enumerate(line) if ch.isalpha()]
            if not positions:
                continue
            p = rng.choice(positions)
            typo = line[:p] + ("x" if line[p] != "x" else "y") + line[p + 1:]
            search = "".join(window[:k] + [typo] + window[k + 1:])
        elif kind == "ambiguous":
            if _indent(window[0]) != 4:
                continue
            # the same lines again elsewhere in the file: no edit can know which one was meant
            text = text + ("" if text.endswith("\n") else "\n") + "\nclass _Copy:\n" + "".join(window)
            expected = None
        return EditCase(kind, f"{rel}:{start + 1}", text, search, replace, expected)
    return None


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "test" not in p.parts and "site-packages" not in p.parts
                  and 200 < p.stat().st_size < 200_000)


def build_corpus(cases: int, seed: int) -> list[EditCase]:
    rng = random.Random(seed)
    files = stdlib_files()
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[EditCase] = []
    per_kind = -(-cases // len(KINDS))
    for kind in KINDS:
        made = 0
        while made < per_kind:
            path = rng.choice(files)
            try:
                lines = path.read_text().splitlines(keepends=True)
            except UnicodeDecodeError:
                continue
            case = _case(kind, str(path.relative_to(root)), lines, rng)
            if case is not None:
                out.append(case)
                made += 1
    return out

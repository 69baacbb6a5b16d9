"""Find where a model's search text sits in a file, forgiving the mistakes models make.

Tiers, tried in order: exact text; whitespace-normalised lines; indentation-relative lines (the
replacement is re-indented by the same shift); elided lines (`...` or `# ... existing code ...`
between kept pieces); fuzzy (rapidfuzz), applied only when one window is clearly ahead of every
other. A tier that finds the text twice refuses (Ambiguous) rather than guess; a lower tier is
never used to break a higher tier's tie.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.process import extract

FUZZY_MIN = 88.0  # a window must score at least this (0..100)
FUZZY_MARGIN = 6.0  # and beat the best non-overlapping runner-up by this much
_ELISION = re.compile(r"^\s*(#|//)?\s*\.\.\.(\s*(existing code|rest of|unchanged)[^\n]*)?\s*(\.\.\.)?\s*$", re.I)


class NoMatch(Exception):
    """The search text is not in the file; the message shows the closest real lines."""


class Ambiguous(Exception):
    """The search text matches in more than one place; the message lists them."""


@dataclass(frozen=True)
class Match:
    start: int  # first line (0-based) of the matched span
    end: int  # one past the last line
    tier: str  # exact | whitespace | indentation | elision | fuzzy
    replacement: str  # the replacement text to put in place of lines[start:end]


def _norm(line: str) -> str:
    return " ".join(line.split())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _reindent(lines: list[str], shift: int) -> list[str]:
    if shift >= 0:
        return [(" " * shift + l) if l.strip() else l for l in lines]
    return [l[min(-shift, _indent(l)):] if l.strip() else l for l in lines]


def _indent_map(file_lines: list[str], search: list[str]) -> dict[int, int] | None:
    """Each indentation level of the search text -> the file's level at the same lines, if that
    is a consistent mapping that keeps the nesting order (the model mis-indented, uniformly or
    level by level)."""
    levels: dict[int, int] = {}
    for actual, wanted in zip(file_lines, search):
        if wanted.strip() and levels.setdefault(_indent(wanted), _indent(actual)) != _indent(actual):
            return None
    ordered = [levels[k] for k in sorted(levels)]
    return levels if ordered == sorted(set(ordered)) else None


def _remap(lines: list[str], levels: dict[int, int]) -> list[str]:
    """Re-indent replacement lines by the level map; unknown levels take the shift of the
    nearest known level below them."""
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        k = _indent(line)
        base = max((m for m in levels if m <= k), default=min(levels))
        out.append(" " * max(0, levels[base] + k - base) + line.lstrip(" \t"))
    return out


def _trim_blank(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _positions(hay: list[str], needle: list[str], start: int = 0) -> list[int]:
    n = len(needle)
    first = needle[0]
    return [i for i in range(start, len(hay) - n + 1) if hay[i] == first and hay[i : i + n] == needle]


def _unique(found: list[int], tier: str, n: int) -> int | None:
    if len(found) > 1:
        where = ", ".join(f"{i + 1}-{i + n}" for i in found[:6])
        raise Ambiguous(f"the search text matches {len(found)} places ({tier} match, lines {where}); "
                        "add surrounding lines so it matches one")
    return found[0] if found else None


def _locate_lines(lines: list[str], search: list[str], replace: list[str], start: int = 0) -> Match | None:
    """Tiers 1-3 on whole lines, from line `start` on."""
    n = len(search)
    at = _unique(_positions(lines, search, start), "exact", n)
    if at is not None:
        return Match(at, at + n, "exact", "".join(replace))
    normed = [_norm(l) for l in lines]
    at = _unique(_positions(normed, [_norm(l) for l in search], start), "whitespace-normalised", n)
    if at is not None and all(_indent(a) == _indent(b) for a, b in zip(lines[at:], search) if b.strip()):
        return Match(at, at + n, "whitespace", "".join(replace))
    stripped = [l.strip() for l in lines]
    mapped = []
    for i in _positions(stripped, [l.strip() for l in search], start):
        levels = _indent_map(lines[i : i + n], search)
        if levels is not None:
            mapped.append((i, levels))
    at = _unique([i for i, _ in mapped], "indentation-relative", n)
    if at is not None:
        levels = dict(mapped)[at]
        tier = "whitespace" if all(k == v for k, v in levels.items()) else "indentation"
        return Match(at, at + n, tier, "".join(_remap(replace, levels)))
    return None


def _split_elided(lines: list[str]) -> list[list[str]]:
    pieces, current = [], []
    for line in lines:
        if _ELISION.match(line):
            pieces.append(current)
            current = []
        else:
            current.append(line)
    pieces.append(current)
    return pieces


def _locate_elided(lines: list[str], search: list[str], replace: list[str]) -> Match | None:
    pieces = _split_elided(search)
    if len(pieces) < 2:
        return None
    kept = [p for p in pieces if _trim_blank(p)]
    if not kept:
        return None
    spans, cursor = [], 0
    for piece in kept:
        found = _locate_lines(lines, _trim_blank(piece), _trim_blank(piece), cursor)
        if found is None:
            return None
        spans.append(found)
        cursor = found.end
    start, end = spans[0].start, spans[-1].end
    rep_pieces = _split_elided(replace)
    if len(rep_pieces) == len(pieces):
        # the replacement elides the same gaps: keep the file's own lines there
        out: list[str] = []
        kept_iter = iter(spans)
        previous: Match | None = None
        for piece, rep in zip(pieces, rep_pieces):
            if _trim_blank(piece):
                span = next(kept_iter)
                if previous is not None:
                    out.extend(lines[previous.end : span.start])
                previous = span
            out.extend(rep)
        return Match(start, end, "elision", "".join(out))
    if any(_ELISION.match(l) for l in replace):
        raise NoMatch("the replacement elides lines differently from the search text; "
                      "send the full replacement or elide the same gaps")
    return Match(start, end, "elision", "".join(replace))


def _closest(lines: list[str], search: list[str]) -> list[tuple[float, int]]:
    """Best-scoring windows of about the search's length, best first, as (score, start)."""
    n = len(search)
    target = "".join(l.strip() + "\n" for l in search)
    windows = {}
    for size in {max(1, n - 1), n, n + 1}:
        for i in range(0, max(1, len(lines) - size + 1)):
            windows[(i, size)] = "".join(l.strip() + "\n" for l in lines[i : i + size])
    scored = extract(target, windows, scorer=fuzz.ratio, limit=None)
    best: dict[int, float] = {}
    for _, score, (i, _size) in scored:
        best[i] = max(best.get(i, 0.0), score)
    return sorted(((s, i) for i, s in best.items()), reverse=True)


def _snippet(lines: list[str], start: int, n: int) -> str:
    lo, hi = max(0, start - 1), min(len(lines), start + n + 1)
    return "".join(f"{k + 1:6}\t{lines[k]}" for k in range(lo, hi))


def locate(text: str, search: str, replace: str) -> Match:
    """Where `search` sits in `text` and what to put there; raises NoMatch or Ambiguous."""
    lines = text.splitlines(keepends=True)
    search_lines = _trim_blank(search.splitlines(keepends=True))
    replace_lines = replace.splitlines(keepends=True)
    if replace_lines and not replace_lines[-1].endswith("\n"):
        replace_lines[-1] += "\n"
    if not search_lines:
        raise NoMatch("the search text is empty")
    if search_lines[-1] and not search_lines[-1].endswith("\n"):
        search_lines[-1] += "\n"
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    found = _locate_lines(lines, search_lines, replace_lines) or _locate_elided(lines, search_lines, replace_lines)
    if found is not None:
        return found
    replacement = [l.strip() for l in _trim_blank(replace_lines)]
    if replacement and _positions([l.strip() for l in lines], replacement):
        raise NoMatch("the replacement is already in the file (the search text is not); nothing to do")
    ranked = _closest(lines, search_lines) if lines else []
    n = len(search_lines)
    if ranked and ranked[0][0] >= FUZZY_MIN:
        best_score, best = ranked[0]
        runner_up = next((s for s, i in ranked[1:] if abs(i - best) >= n), 0.0)
        if best_score - runner_up >= FUZZY_MARGIN:
            shift = _indent(lines[best]) - _indent(search_lines[0])
            return Match(best, best + n, "fuzzy", "".join(_reindent(replace_lines, shift)))
        raise Ambiguous(f"the search text is not in the file; near matches at lines {best + 1} and "
                        f"others score alike, so none is applied. Closest:\n{_snippet(lines, best, n)}")
    if ranked:
        raise NoMatch(f"the search text is not in the file. The closest lines are:\n{_snippet(lines, ranked[0][1], n)}")
    raise NoMatch("the file is empty")

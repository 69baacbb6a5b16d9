"""Find where a model's search text sits in a file, forgiving the mistakes models make.

Tiers, tried in order: the non-blank lines of the search text in order with whitespace and blank
lines aside (exact when the lines are also byte-identical; the replacement is re-indented level by
level when the indentation differs); elided lines (`...` or `# ... existing code ...` between kept
pieces, each piece the nearest one after the previous at a fitting depth); fuzzy (rapidfuzz),
applied only when every search line has a place, all but a few are intact, the others differ by a
typo or a comment, the lines the model changes are where it thinks, and no other window that
would qualify scores close. A tier that finds the text twice refuses (Ambiguous) rather than
guess; a lower tier is never used to break a higher tier's tie.

The replacement is merged, not pasted: lines the model left unchanged keep the file's own text
(its blank lines, whitespace and the real version of a stale line), so only the lines the model
changed are written.

Whole-file passes run in C (str.find, str.count, accumulate); Python touches only the lines near
a candidate, which keeps an edit on a 3k-line file well under 2 ms.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import accumulate

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

FUZZY_MIN = 88.0  # a window must score at least this (0..100)
FUZZY_MARGIN = 6.0  # and no other window that would qualify may score within this much
FUZZY_CHANGED = 3  # at most this many lines (and a quarter of them) may differ from the file
FUZZY_TYPO = 2  # a changed line may be this many character edits from its file line, comments aside
TAB = 4  # columns a tab counts for when comparing indentation depths
_COMMENT = re.compile(r"(?<=\S)\s+#[^'\"]*$")  # a comment after code; a comment line is content
_ELISION = re.compile(r"^\s*(#|//)?\s*\.\.\.(\s*(existing code|rest of|unchanged)[^\n]*)?\s*(\.\.\.)?\s*$", re.I)


class NoMatch(Exception):
    """The search text is not in the file; the message shows the closest real lines."""


class Ambiguous(Exception):
    """The search text matches in more than one place; the message lists them."""


@dataclass(frozen=True)
class Match:
    start: int  # first line (0-based) of the matched span
    end: int  # one past the last line
    tier: str  # exact | whitespace | blank-lines | indentation | elision | fuzzy
    replacement: str  # the replacement text to put in place of lines[start:end]


def _norm(line: str) -> str:
    return " ".join(line.split())


def _code(key: str) -> str:
    """A normalised line without the comment after its code: models often add or drop one."""
    return _COMMENT.sub("", key)


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _width(lead: str) -> int:
    return len(lead.expandtabs(TAB))


def _blank(line: str) -> bool:
    return not line.strip()


class _File:
    """The file's lines with C-speed lookup of a normalised line; keys are computed lazily."""

    def __init__(self, text: str) -> None:
        self.text = text if text.endswith("\n") or not text else text + "\n"
        self.lines = self.text.splitlines(keepends=True)
        self.offsets = [0, *accumulate(map(len, self.lines))]
        self._keys: dict[int, str] = {}
        self._counts: dict[str, int] = {}

    def key(self, i: int) -> str:
        k = self._keys.get(i)
        if k is None:
            k = self._keys[i] = _norm(self.lines[i])
        return k

    def count(self, key: str) -> int:
        """How often the key's longest word occurs: a cheap bound on its matches."""
        token = max(key.split(), key=len)
        n = self._counts.get(token)
        if n is None:
            n = self._counts[token] = self.text.count(token)
        return n

    def hits(self, key: str) -> list[int]:
        """Lines whose normalised text is `key`."""
        token = max(key.split(), key=len)
        out, at = [], self.text.find(token)
        while at != -1:
            i = bisect_right(self.offsets, at) - 1
            if self.key(i) == key:
                out.append(i)
            at = self.text.find(token, self.offsets[i + 1])
        return out

    def walk(self, i: int, step: int, count: int) -> list[int] | None:
        """The `count` non-blank lines after (step 1) or before (step -1) line i, nearest first."""
        out: list[int] = []
        while len(out) < count:
            i += step
            if not 0 <= i < len(self.lines):
                return None
            if not _blank(self.lines[i]):
                out.append(i)
        return out


def _nonblank(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if not _blank(line)]


def _content_matches(f: _File, keys: list[str]) -> list[list[int]]:
    """Every place the non-blank lines `keys` appear in order, whitespace and blank lines aside,
    as the file line of each key."""
    longest = sorted(range(len(keys)), key=lambda j: -len(keys[j]))[:3]
    j = min(longest, key=lambda j: f.count(keys[j]))
    found = []
    for i in f.hits(keys[j]):
        before, after = f.walk(i, -1, j), f.walk(i, 1, len(keys) - 1 - j)
        if before is None or after is None:
            continue
        at = [*reversed(before), i, *after]
        if all(f.key(a) == k for a, k in zip(at, keys)):
            found.append(at)
    return found


def _where(places: list[list[int]]) -> str:
    return ", ".join(f"{p[0] + 1}-{p[-1] + 1}" for p in places[:6])


def _level_map(pairs: list[tuple[str, str]]) -> dict[str, str] | None:
    """Each indentation of the search lines -> the file's indentation at the same lines, if that
    is consistent and keeps the nesting order (the model mis-indented, uniformly or by level)."""
    levels: dict[str, str] = {}
    for wanted, actual in pairs:
        if levels.setdefault(_lead(wanted), _lead(actual)) != _lead(actual):
            return None
    ordered = [_width(levels[k]) for k in sorted(levels, key=_width)]
    return levels if ordered == sorted(set(ordered)) else None


def _uniform(pairs: list[tuple[str, str]]) -> bool:
    """Whether every file line is indented by the same shift from its search line."""
    return len({_width(_lead(actual)) - _width(_lead(wanted)) for wanted, actual in pairs}) == 1


def _step(lines: list[str]) -> int:
    """The most common increase of indentation from one non-blank line to the next (4 if none)."""
    widths = [_width(_lead(l)) for l in lines if not _blank(l)]
    steps = [b - a for a, b in zip(widths, widths[1:]) if b > a]
    return max(sorted(set(steps)), key=steps.count) if steps else TAB


class _Indenter:
    """Re-indents replacement lines from the model's indentation to the file's: known levels
    map directly; a deeper unknown level is the nearest known one plus its depth in file units
    (scaled as the known levels are; tabs where the file uses tabs). Lines get the file's line
    ending."""

    def __init__(self, f: _File, levels: dict[str, str], model_lines: list[str], span: tuple[int, int]) -> None:
        self.levels = levels
        self.identity = all(k == v for k, v in levels.items())
        self._f, self._model_lines, self._span = f, model_lines, span
        # models write \n; a file with \r\n line ends keeps them
        self.crlf = f.lines[span[0]].endswith("\r\n")

    def _unknown(self, lead: str) -> str:
        """The file's indentation for a model level the search never showed."""
        known = sorted(self.levels, key=_width)
        near = self._f.lines[max(0, self._span[0] - 30) : self._span[1] + 30]
        model = _width(known[-1]) - _width(known[0])
        real = _width(self.levels[known[-1]]) - _width(self.levels[known[0]])
        # file columns per model column: from the known levels, else from each side's usual step
        scale = real / model if model and real > 0 else _step(near) / _step(self._model_lines)
        below = [k for k in known if _width(k) <= _width(lead)]
        base = below[-1] if below else known[0]
        width = max(0, _width(self.levels[base]) + round((_width(lead) - _width(base)) * scale))
        tabs = any(l.startswith("\t") for l in near)
        return "\t" * (width // TAB) + " " * (width % TAB) if tabs else " " * width

    def __call__(self, lines: list[str]) -> list[str]:
        if self.crlf:
            lines = [l if l.endswith("\r\n") else l[:-1] + "\r\n" for l in lines]
        if self.identity:
            return lines
        out = []
        for line in lines:
            body = line.lstrip(" \t")
            if not body.strip():
                out.append(body)  # a whitespace-only line carries the model's indentation
                continue
            lead = _lead(line)
            out.append((self.levels[lead] if lead in self.levels else self._unknown(lead)) + body)
        return out


def _pair_blanks(f: _File, search: list[str], nb: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Add pairs for the search's blank lines that meet blank lines of the file at the same place."""
    pairs: list[tuple[int, int]] = []
    first_s, first_f = nb[0]
    s, i = first_s - 1, first_f - 1
    lead: list[tuple[int, int]] = []
    while s >= 0 and i >= 0 and _blank(f.lines[i]):
        lead.append((s, i))
        s, i = s - 1, i - 1
    pairs.extend(reversed(lead))
    for (s1, f1), (s2, f2) in zip(nb, nb[1:] + [(len(search), len(f.lines))]):
        pairs.append((s1, f1))
        s, i = s1 + 1, f1 + 1
        while s < s2 and i < f2 and _blank(search[s]) and _blank(f.lines[i]):
            pairs.append((s, i))
            s, i = s + 1, i + 1
    return pairs


def _trim_tail(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and _blank(lines[end - 1]):
        end -= 1
    return lines[:end]


def _bounds(n: int, pairs: list[tuple[int, int]], unchanged: list[bool]) -> list[int]:
    """Search line s of n covers file lines bound[s]:bound[s + 1], given the paired lines."""
    start, end = pairs[0][1], pairs[-1][1] + 1
    bound = [start] * (n + 1)
    ends = [(-1, start - 1), *pairs, (n, end)]
    for (s1, f1), (s2, f2) in zip(ends, ends[1:]):
        lo, hi = f1 + 1, f2
        if s2 == s1 + 1:
            # file lines the search skipped (blank lines, a line it forgot) stay with an
            # unchanged neighbour; between two changed lines they are replaced with them
            bound[s2] = hi if s1 >= 0 and unchanged[s1] else lo
        else:
            for k in range(s1 + 1, s2):
                bound[k] = min(lo + k - s1 - 1, hi)
            bound[s2] = hi
    return bound


def _merge(f: _File, search: list[str], replace: list[str], pairs: list[tuple[int, int]],
           indent: _Indenter, tier: str) -> Match:
    """Put the replacement where the paired search lines are: runs the model left unchanged
    take the file's own lines (with any blank lines the model did not see); changed runs take
    the model's lines, re-indented."""
    ops = SequenceMatcher(None, search, replace, autojunk=False).get_opcodes()
    unchanged = [False] * len(search)
    for tag, i1, i2, _, _ in ops:
        if tag == "equal":
            unchanged[i1:i2] = [True] * (i2 - i1)
    bound = _bounds(len(search), pairs, unchanged)
    # blank lines the search did not show and the model wrote at the same boundary are the same
    # blank lines: keep one copy
    seen = {i for _, i in pairs}
    out: list[str] = []
    unseen = written = 0  # blank lines ending `out`: the file's unseen ones, the model's
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            lo, hi = bound[i1], bound[i2]
            while lo < hi and written and lo not in seen and _blank(f.lines[lo]):
                lo, written = lo + 1, written - 1
            run = f.lines[lo:hi]
            unseen = written = 0
            while unseen < len(run) and hi - 1 - unseen not in seen and _blank(run[-1 - unseen]):
                unseen += 1
        else:
            run = indent(replace[j1:j2])
            while run and unseen and _blank(run[0]):
                run, unseen = run[1:], unseen - 1
            written = len(run) - len(_trim_tail(run))
            unseen = 0
        out.extend(run)
    return Match(pairs[0][1], pairs[-1][1] + 1, tier, "".join(out))


def _placed(f: _File, search: list[str], replace: list[str], nb: list[tuple[int, int]], tier: str) -> Match:
    """Merge at a place found by content, after checking the indentation maps consistently."""
    levels = _level_map([(search[s], f.lines[i]) for s, i in nb if f.key(i) == _norm(search[s])])
    if levels is None:
        raise NoMatch(f"the search text matches lines {nb[0][1] + 1}-{nb[-1][1] + 1} but its indentation does "
                      "not follow theirs (lines at one depth in the search sit at different depths in the "
                      "file); resend it with the file's indentation")
    pairs = _pair_blanks(f, search, nb)
    indent = _Indenter(f, levels, search + replace, (pairs[0][1], pairs[-1][1] + 1))
    if tier == "content":
        exact = f.lines[pairs[0][1] : pairs[-1][1] + 1] == search[pairs[0][0] : pairs[-1][0] + 1]
        drift = any(f2 - f1 != s2 - s1 for (s1, f1), (s2, f2) in zip(nb, nb[1:]))
        tier = ("exact" if exact else "indentation" if not indent.identity
                else "blank-lines" if drift else "whitespace")
    return _merge(f, search, replace, pairs, indent, tier)


def _split_elided(lines: list[str]) -> list[list[str]]:
    pieces: list[list[str]] = [[]]
    for line in lines:
        if _ELISION.match(line):
            pieces.append([])
        else:
            pieces[-1].append(line)
    return pieces


def _block_end(f: _File, first: int, last: int) -> int:
    """One past the end of the block the lines first..last begin: a search ending in `...`
    elides the rest of it."""
    top = _width(_lead(f.lines[first]))
    after = f.walk(first, 1, 1)
    opens = bool(after) and _width(_lead(f.lines[after[0]])) > top  # a def/if/for... heads a deeper body
    i, end = last + 1, last + 1
    while i < len(f.lines):
        line = f.lines[i]
        if not _blank(line):
            depth = _width(_lead(line))
            if depth < top or (opens and depth == top):
                break
            end = i + 1
        i += 1
    return end


def _elided_chain(f: _File, pieces: list[list[str]], kept: list[int]) -> dict[int, list[int]] | None:
    """Piece index -> the file line of each of its non-blank lines, for the one tightest chain
    of pieces in order; raises Ambiguous if separate chains fit."""
    def lines_of(k: int, place: list[int]) -> list[tuple[str, str]]:
        return [(pieces[k][s], f.lines[i]) for s, i in zip(_nonblank(pieces[k]), place)]

    found = {}
    for k in kept:
        found[k] = sorted(_content_matches(f, [_norm(pieces[k][s]) for s in _nonblank(pieces[k])]))
        if not found[k]:
            return None
    chains = []
    for head in found[kept[0]]:
        chain, pairs = [head], lines_of(kept[0], head)
        for k in kept[1:]:
            # the nearest occurrence after the previous piece, at a depth that fits the pieces
            # before it, is the one the model meant
            later = found[k][bisect_left(found[k], [chain[-1][-1] + 1]):]
            place = next((p for p in later if _uniform(pairs) and _uniform(pairs + lines_of(k, p))),
                         next((p for p in later if _level_map(pairs + lines_of(k, p)) is not None), None))
            if place is None:
                break
            chain.append(place)
            pairs += lines_of(k, place)
        else:
            chains.append(chain)
    spans = [(c[0][0], c[-1][-1]) for c in chains]
    # a chain that contains a tighter chain is that one with extra lines elided
    tight = [c for c, (a, b) in zip(chains, spans) if not any(a <= x and y <= b and (x, y) != (a, b) for x, y in spans)]
    if len(tight) > 1:
        raise Ambiguous(f"the elided search text matches {len(tight)} places (lines "
                        f"{_where([[c[0][0], c[-1][-1]] for c in tight])}); add lines so it matches one")
    return dict(zip(kept, tight[0])) if tight else None


def _locate_elided(f: _File, search: list[str], replace: list[str]) -> Match | None:
    pieces = _split_elided(search)
    if len(pieces) < 2:
        return None
    kept = [k for k, p in enumerate(pieces) if _nonblank(p)]
    if not kept:
        raise NoMatch("the search text is only elision markers")
    chain = _elided_chain(f, pieces, kept)
    if chain is None:
        return None
    rep_pieces = _split_elided(replace)
    if len(rep_pieces) == len(pieces):
        # the replacement elides the same gaps: keep the file's own lines there
        out: list[str] = []
        start = end = None
        for k, (piece, rep) in enumerate(zip(pieces, rep_pieces)):
            if k not in chain:
                out.extend(rep)
                continue
            nb = list(zip(_nonblank(piece), chain[k]))
            merged = _placed(f, piece, rep, nb, "elision")
            if end is not None:
                out.extend(f.lines[end : merged.start])
            out.append(merged.replacement)
            start = merged.start if start is None else start
            end = merged.end
        return Match(start, end, "elision", "".join(out))
    if len(rep_pieces) > 1:
        raise NoMatch("the replacement elides lines differently from the search text; "
                      "send the full replacement or elide the same gaps")
    if kept[0] != 0:
        raise NoMatch("the search text begins with an elision marker but the replacement has none, so "
                      "where the replaced lines start is unknown; begin the search text with real lines")
    start, last = chain[kept[0]][0], chain[kept[-1]][-1]
    end = _block_end(f, start, last) if kept[-1] != len(pieces) - 1 else last + 1
    levels = _level_map([(pieces[k][s], f.lines[i]) for k in kept for s, i in zip(_nonblank(pieces[k]), chain[k])])
    if levels is None:
        raise NoMatch(f"the elided search text matches lines {start + 1}-{end} but its indentation does not "
                      "follow theirs; resend it with the file's indentation")
    return Match(start, end, "elision", "".join(_Indenter(f, levels, search + replace, (start, end))(replace)))


@dataclass(frozen=True)
class _Window:
    score: float
    lines: list[int]  # the file's non-blank lines compared with the search's


def _windows(f: _File, keys: list[str]) -> list[_Window]:
    """Windows near lines the search shares with the file, best first."""
    m = len(keys)
    # any qualifying window has at most _allowed(m) changed lines, so among _allowed(m) + 1
    # distinct search lines one is intact there: their hits anchor every window that matters
    longest = sorted(range(m), key=lambda j: -len(keys[j]))[: _allowed(m) + 3]
    starts: set[int] = set()
    for j in sorted(longest, key=lambda j: f.count(keys[j]))[: _allowed(m) + 1]:
        for i in f.hits(keys[j]):
            before = f.walk(i, -1, j)
            # the window starts j non-blank lines above the anchor, or at the top of the file
            starts.add(0 if before is None else before[-1] if before else i)
    target = "\n".join(keys)
    best: list[_Window] = []
    for s in starts:
        first = s if not _blank(f.lines[s]) else (f.walk(s, 1, 1) or [s])[0]
        window = [first, *(f.walk(first, 1, m) or f.walk(first, 1, m - 1) or [])]
        scored = [(fuzz.ratio(target, "\n".join(f.key(i) for i in window[:size])), size)
                  for size in (m, m - 1, m + 1) if 0 < size <= len(window)]
        if not scored:
            continue
        score, size = max(scored, key=lambda x: (x[0], x[1] == m))
        best.append(_Window(score, window[:size]))
    return sorted(best, key=lambda w: -w.score)


def _aligned(f: _File, keys: list[str], window: _Window) -> tuple[list[tuple[int, int]], int, int]:
    """(search key index, file line) pairs of a window, how many of them are intact, and the
    most character edits between a changed pair. A changed line pairs with the file line at its
    place."""
    wkeys = [f.key(i) for i in window.lines]
    pairs, intact, edits = [], 0, 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, keys, wkeys, autojunk=False).get_opcodes():
        if tag == "equal":
            intact += i2 - i1
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs += [(i1 + k, window.lines[j1 + k]) for k in range(i2 - i1)]
        if tag == "replace" and i2 - i1 == j2 - j1:
            edits = max(edits, *(Levenshtein.distance(_code(keys[i1 + k]), _code(wkeys[j1 + k]))
                                 for k in range(i2 - i1)))
    return pairs, intact, edits


def _locate_fuzzy(f: _File, keys: list[str], nb_search: list[int], ranked: list[_Window]) -> list[tuple[int, int]] | None:
    """Pairs of (search line, file line) for the one window that qualifies: every search line
    placed, all but a few intact, well ahead of any other qualifying window."""
    m = len(keys)

    def qualifies(window: _Window) -> list[tuple[int, int]] | None:
        pairs, intact, edits = _aligned(f, keys, window)
        # only typos and comment drift: a line that differs in more is as likely a look-alike
        # block elsewhere (say the sibling of code that was deleted) as a stale copy of this one
        return pairs if len(pairs) == m and intact >= m - _allowed(m) and edits <= FUZZY_TYPO else None

    if m < 2 or not ranked or ranked[0].score < FUZZY_MIN:
        return None
    best = ranked[0]
    pairs = qualifies(best)
    if pairs is None:
        return None
    rivals = (w for w in ranked[1:] if w.score > best.score - FUZZY_MARGIN
              and (w.lines[0] > best.lines[-1] or w.lines[-1] < best.lines[0]))
    if any(qualifies(w) is not None for w in rivals):
        raise Ambiguous(f"the search text is not in the file; near matches at lines {best.lines[0] + 1} and "
                        f"others score alike, so none is applied. Closest:\n{_snippet(f.lines, best.lines[0], m)}")
    return [(nb_search[j], i) for j, i in pairs]


def _changes_are_safe(f: _File, search: list[str], replace: list[str], pairs: list[tuple[int, int]]) -> bool:
    """Whether the lines the model changes are where the fuzzy match says. Each changed line
    needs a file line (else it would be written beside the real one), and a changed line that
    differs from its file line must be restored to it by the replacement: a model editing a
    line it remembered wrong may be editing a look-alike elsewhere."""
    paired = dict(pairs)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, search, replace, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        written = {_norm(l) for l in replace[j1:j2]}
        for s in range(i1, i2):
            if _blank(search[s]):
                continue
            if s not in paired:
                return False
            real = f.key(paired[s])
            if real != _norm(search[s]) and real not in written:
                return False
    return True


def _allowed(m: int) -> int:
    """How many lines of an m-line search may differ from the file for a fuzzy match."""
    return min(FUZZY_CHANGED, max(1, m // 4))


def _snippet(lines: list[str], start: int, n: int) -> str:
    lo, hi = max(0, start - 1), min(len(lines), start + n + 1)
    return "".join(f"{k + 1:6}\t{lines[k]}" for k in range(lo, hi))


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def locate(text: str, search: str, replace: str) -> Match:
    """Where `search` sits in `text` and what to put there; raises NoMatch or Ambiguous."""
    f = _File(text)
    s_lines, r_lines = _lines(search), _lines(replace)
    nb_search = _nonblank(s_lines)
    if not nb_search:
        raise NoMatch("the search text is empty")
    if not f.lines:
        raise NoMatch("the file is empty")
    keys = [_norm(s_lines[s]) for s in nb_search]
    places = _content_matches(f, keys)
    first, last = nb_search[0], nb_search[-1] + 1
    exact = [p for p in places if f.lines[p[0] : p[0] + last - first] == s_lines[first:last]]
    if not exact and len(places) > 1:
        # several places once indentation is set aside: the one at the search's own depths (a
        # tab is TAB columns) is as good as exact; copies at other depths are not what it shows
        depths = [_width(_lead(s_lines[s])) for s in nb_search]
        exact = [p for p in places if [_width(_lead(f.lines[i])) for i in p] == depths]
    if len(exact) > 1 or (not exact and len(places) > 1):
        chosen = exact if exact else places
        raise Ambiguous(f"the search text matches {len(chosen)} places (lines {_where(chosen)}); "
                        "add surrounding lines so it matches one")
    if places:
        return _placed(f, s_lines, r_lines, list(zip(nb_search, (exact or places)[0])), "content")
    elided = _locate_elided(f, s_lines, r_lines)
    if elided is not None:
        return elided
    nb_replace = _nonblank(r_lines)
    if nb_replace and _content_matches(f, [_norm(r_lines[s]) for s in nb_replace]):
        raise NoMatch("the replacement is already in the file (the search text is not); nothing to do")
    ranked = _windows(f, keys)  # a `...` line may be real code (a stub, a doctest): it takes part
    pairs = _locate_fuzzy(f, keys, nb_search, ranked)
    if pairs:
        levels = _level_map([(s_lines[s], f.lines[i]) for s, i in pairs if f.key(i) == _norm(s_lines[s])])
        if levels is not None and _changes_are_safe(f, s_lines, r_lines, pairs):
            pairs = _pair_blanks(f, s_lines, pairs)
            indent = _Indenter(f, levels, s_lines + r_lines, (pairs[0][1], pairs[-1][1] + 1))
            return _merge(f, s_lines, r_lines, pairs, indent, "fuzzy")
        raise NoMatch(f"the search text is not in the file: lines {pairs[0][1] + 1}-{pairs[-1][1] + 1} are close, but a "
                      "line you change (or its indentation) reads differently there, so nothing was applied. "
                      f"The closest lines are:\n{_snippet(f.lines, pairs[0][1], len(keys))}")
    if ranked:
        near = ranked[0].lines[0]
    else:  # no line of the search is in the file: show the lines most like its longest line
        near = process.extractOne(max(keys, key=len), [l.strip() for l in f.lines], scorer=fuzz.ratio)[2]
    raise NoMatch(f"the search text is not in the file. The closest lines are:\n{_snippet(f.lines, near, len(keys))}")

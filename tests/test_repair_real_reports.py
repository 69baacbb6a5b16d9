"""The repair policy on bug reports written the way real ones are: a quoted snippet with its
wrong output or traceback and no test ids, in a repository with an unrelated test file that
cannot be collected. Each test runs `python -m agent solve` on a git repository made here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.repair.site import ParsedFile
from agent.repair.snippets import from_issue
from agent.repair.templates import candidates

GENOME = Path(__file__).resolve().parent.parent

WORDS = '''\
import re

WORD = re.compile(r"[a-z]+")


def slug_words(text):
    """The lower-case words of `text`, in order."""
    return WORD.findall(text.lower())


def describe(user):
    name = user.get("name")
    return name.strip().title()


def shout(text):
    return text.upper() + "!"
'''
TESTS = '''\
from textkit.words import describe, shout, slug_words


def test_slug_words():
    assert slug_words("Hello, World") == ["hello", "world"]


def test_describe():
    assert describe({"name": "  ada lovelace "}) == "Ada Lovelace"


def test_shout():
    assert shout("hi") == "HI!"
'''
# Imports a package this environment does not have: pytest cannot collect it.
UNCOLLECTABLE = '''\
import plugin_framework_not_installed


def test_plugin():
    assert plugin_framework_not_installed.load()
'''
WRONG_VALUE = '''\
slug_words drops numbers

```python
>>> from textkit.words import slug_words
>>> slug_words("Release 2 notes")
['release', 'notes']
```

The number is a word too: expected `['release', '2', 'notes']`.
'''
CRASH = '''\
describe() crashes on a user without a name

```python
from textkit.words import describe
describe({"id": 7})
```

```
Traceback (most recent call last):
  File "<stdin>", line 2, in <module>
  File "textkit/words.py", line 13, in describe
    return name.strip().title()
AttributeError: 'NoneType' object has no attribute 'strip'
```
'''


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def textkit(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "textkit").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "textkit" / "__init__.py").write_text("")
    (repo / "textkit" / "words.py").write_text(WORDS)
    (repo / "tests" / "test_words.py").write_text(TESTS)
    (repo / "tests" / "test_plugins.py").write_text(UNCOLLECTABLE)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    return repo


def _solve(repo: Path, issue: str, tmp_path: Path) -> tuple[list[dict], str]:
    (tmp_path / "issue.md").write_text(issue)
    env = {k: v for k, v in os.environ.items() if k not in ("DGM_MODEL", "DGM_POLICY")}
    env["PYTHONPATH"] = str(GENOME)
    result = subprocess.run([sys.executable, "-m", "agent", "solve", "--repo", str(repo),
                             "--issue", str(tmp_path / "issue.md"), "--patch-out", str(tmp_path / "out.patch"),
                             "--trajectory", str(tmp_path / "t.jsonl")],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines() if line.strip()]
    # The generated reproduction never reaches the patch or the working tree.
    assert _git(repo, "status", "--porcelain").split() == ["M", "textkit/words.py"]
    return records, (tmp_path / "out.patch").read_text()


def _changed(patch: str) -> list[str]:
    return [l for l in patch.splitlines() if l[:1] in "+-" and l[:3] not in ("+++", "---")]


def _step(records: list[dict], step: str) -> dict:
    return next(r for r in records if r.get("step") == step)


def test_a_doctest_snippet_with_a_stated_expectation_is_reproduced_and_its_regex_fixed(textkit, tmp_path):
    records, patch = _solve(textkit, WRONG_VALUE, tmp_path)
    assert records[-1]["reason"] == "submitted"
    # The unrelated file that cannot be imported is skipped with a note, not fatal.
    collect = _step(records, "collect")
    assert list(collect["uncollectable"]) == ["tests/test_plugins.py"]
    assert "plugin_framework_not_installed" in collect["uncollectable"]["tests/test_plugins.py"]
    assert _step(records, "snippets")["checks"] == [{"kind": "output", "want": "['release', '2', 'notes']"}]
    assert _changed(patch) == ['-WORD = re.compile(r"[a-z]+")', '+WORD = re.compile(r"[a-z0-9]+")']


def test_a_quoted_traceback_is_reproduced_and_fixed_with_a_guard_at_the_raising_line(textkit, tmp_path):
    records, patch = _solve(textkit, CRASH, tmp_path)
    assert records[-1]["reason"] == "submitted"
    assert _step(records, "snippets")["checks"] == [{"kind": "no_error"}]
    localise = _step(records, "localise")
    assert localise["errors"] == ["AttributeError"] and localise["suspects"][0].startswith("textkit/words.py:13 traceback")
    assert _changed(patch) == ["+    if name is None:", "+        return None"]
    tried = [r for r in records if r.get("step") == "candidate"]
    assert len(tried) == 1  # guards lead when the reproduction raised


def test_snippet_output_the_code_still_gives_is_read_as_the_reported_wrong_value():
    reproduction = from_issue("`f(2)` gives\n\n```\n>>> from m import f\n>>> f(2)\n5\n```\n\n"
                              "It should return `4`. Also:\n\n```python\nprint(g())  # expected 'x'\n```\n")
    first, second = reproduction.blocks
    assert [(e.source, e.want) for e in first.examples] == [("from m import f", ""), ("f(2)", "5")]
    assert reproduction.expected_values == ["4"]
    assert [(e.source, e.want, e.expected) for e in second.examples] == [("g()", "'x'", True)]


def test_an_edit_of_code_repeated_in_a_function_is_also_tried_on_every_copy():
    source = "def span(xs):\n    lo = min(x for x in xs if x > 0)\n    hi = max(x for x in xs if x > 0)\n    return lo, hi\n"
    edited = [c for c in candidates(ParsedFile("m.py", source), 2) if c.template == "comparison_swap_everywhere"]
    assert edited and edited[0].source.count("x >= 0") == 2, [c.description for c in edited]

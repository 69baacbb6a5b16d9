"""Code search over a small multi-language repository: definitions, references, fuzzy lookup,
incremental re-indexing, a ranked map within budget, and plain text search."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter

import pytest

from tools import python_scan
from tools.code_index import CodeIndex, parse_file, scan_with_tree_sitter
from tools.repo_map import repo_map
from tools.text_search import text_search

FILES = {
    "pkg/core.py": "class Engine:\n    @property\n    def speed(self):\n        return 1\n\n    def start(self):\n        return helper()\n\n\ndef helper():\n    return 42\n",
    "pkg/cli.py": "from pkg.core import Engine, helper\n\n\ndef main():\n    Engine().start()\n    return helper()\n",
    "tests/test_core.py": "from pkg.core import Engine, helper\n\n\ndef test_helper():\n    assert helper() == 42\n",
    "web/app.ts": "export function renderPage(title: string): string {\n  return title;\n}\nclass View {}\n",
    "svc/main.go": "package main\n\nfunc Serve() int {\n\treturn 1\n}\n",
    "lib/src/lib.rs": "pub struct Store {}\npub fn open_store() -> Store { Store {} }\n",
    "App.java": "class App {\n  void run() {}\n}\n",
}


@pytest.fixture()
def repo(tmp_path):
    for path, text in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    return tmp_path


def test_definitions_in_every_language_with_their_kinds(repo, tmp_path_factory):
    index = CodeIndex(repo, cache_dir=tmp_path_factory.mktemp("cache"))
    assert index.refresh() == len(FILES)
    kinds = {(s.name, s.kind, s.path) for s in index.all_definitions()}
    assert {("Engine", "class", "pkg/core.py"), ("speed", "method", "pkg/core.py"), ("start", "method", "pkg/core.py"),
            ("helper", "function", "pkg/core.py"), ("renderPage", "function", "web/app.ts"), ("View", "class", "web/app.ts"),
            ("Serve", "function", "svc/main.go"), ("Store", "struct", "lib/src/lib.rs"),
            ("open_store", "function", "lib/src/lib.rs"), ("run", "method", "App.java")} <= kinds
    (helper,) = index.definitions("helper")
    assert (helper.line, helper.end_line, helper.text) == (10, 11, "def helper():")


def test_fuzzy_lookup_and_where_a_name_is_used(repo, tmp_path):
    index = CodeIndex(repo, cache_dir=tmp_path / "cache")
    index.refresh()
    assert index.definitions("halper") == []
    assert index.definitions("halper", fuzzy=True)[0].name == "helper"
    uses = {(s.path, s.line) for s in index.references("helper")}
    assert ("pkg/cli.py", 6) in uses and ("pkg/core.py", 7) in uses and ("tests/test_core.py", 5) in uses
    assert ("pkg/core.py", 10) not in uses  # the definition itself


def test_re_indexing_parses_only_changed_files_and_survives_a_restart(repo, tmp_path):
    cache = tmp_path / "cache"
    CodeIndex(repo, cache_dir=cache).refresh()
    (repo / "pkg" / "cli.py").write_text(FILES["pkg/cli.py"] + "\n\ndef extra():\n    pass\n")
    index = CodeIndex(repo, cache_dir=cache)  # a new process would start from the cache like this
    assert index.refresh() == 1
    assert index.definitions("extra")[0].path == "pkg/cli.py"
    assert index.refresh() == 0


def test_the_map_ranks_used_code_first_fits_the_budget_and_leaves_out_tests(repo, tmp_path):
    index = CodeIndex(repo, cache_dir=tmp_path / "cache")
    index.refresh()
    full = repo_map(index, token_budget=10_000)
    assert full.startswith("pkg/core.py:")  # used by cli.py; ranks first
    assert "tests/test_core.py" not in full
    small = repo_map(index, token_budget=20)
    assert len(small) // 4 <= 20 and small.startswith("pkg/core.py:")
    assert repo_map(index, token_budget=10_000, focus=["renderPage"]).startswith("web/app.ts:")


def test_text_search_with_git_grep_and_without_git(repo, tmp_path):
    hits = text_search(repo, "helper()")
    assert {(h.path, h.line) for h in hits} >= {("pkg/cli.py", 6), ("pkg/core.py", 7)}
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.txt").write_text("x\nneedle here\n")
    assert text_search(plain, r"need\w+", regex=True) == [type(hits[0])("a.txt", 2, "needle here")]


def test_an_incremental_refresh_parses_only_the_changed_and_new_files(repo, tmp_path):
    cache = tmp_path / "cache"
    index = CodeIndex(repo, cache_dir=cache)
    assert index.refresh() == len(FILES)
    (repo / "pkg" / "core.py").write_text(FILES["pkg/core.py"] + "\n\ndef added():\n    return helper()\n")
    (repo / "pkg" / "new.py").write_text("def fresh():\n    return 1\n")
    (repo / "App.java").unlink()
    os.utime(repo / "pkg" / "cli.py")  # touched, same content: hashed again, not parsed
    assert index.refresh() == 2
    assert index.definitions("added")[0].path == "pkg/core.py" and index.definitions("fresh")
    assert index.definitions("run") == []  # the deleted file's definitions are gone
    assert ("pkg/core.py", 15) in {(s.path, s.line) for s in index.references("helper")}


def test_the_stored_index_reads_back_as_what_was_parsed(repo, tmp_path):
    cache = tmp_path / "cache"
    built = CodeIndex(repo, cache_dir=cache)
    built.refresh()
    loaded = CodeIndex(repo, cache_dir=cache)  # as a new process starts
    assert loaded.refresh() == 0
    assert loaded.per_file() == built.per_file() == {
        path: parse_file(path, (repo / path).read_bytes()) for path in FILES}
    assert loaded.all_definitions() == built.all_definitions()


def test_a_copy_of_the_cache_warms_an_index_of_another_checkout(repo, tmp_path):
    """What the host does between two agents on one task: the second checkout has other paths
    and mtimes, and still parses nothing."""
    CodeIndex(repo, cache_dir=tmp_path / "first").refresh()
    shutil.copytree(tmp_path / "first", tmp_path / "carried")
    other = tmp_path / "other"
    shutil.copytree(repo, other)
    for path in other.rglob("*"):
        os.utime(path, (1, 1))
    index = CodeIndex(other, cache_dir=tmp_path / "carried")
    assert index.refresh() == 0
    assert index.definitions("helper")[0].path == "pkg/core.py"


def test_fuzzy_lookup_finds_misspelt_and_differently_cased_names(repo, tmp_path):
    index = CodeIndex(repo, cache_dir=tmp_path / "cache")
    index.refresh()
    assert [s.name for s in index.definitions("open_stor", fuzzy=True)][:1] == ["open_store"]
    assert [s.name for s in index.definitions("renderpage", fuzzy=True)][:1] == ["renderPage"]
    assert [s.name for s in index.definitions("Enigne", fuzzy=True)][:1] == ["Engine"]
    assert index.definitions("zzzzqqq", fuzzy=True) == []


def test_uses_in_comments_strings_and_numbers_are_not_references(tmp_path):
    (tmp_path / "m.py").write_text('def helper():\n    pass\n# helper in a comment\nx = "helper"\n'
                                   'y = helper() + 0x1F\nif True:\n    helper\n')
    index = CodeIndex(tmp_path, cache_dir=tmp_path / ".cache")
    index.refresh()
    assert [s.line for s in index.references("helper")] == [5, 7]
    assert index.references("x1F") == [] and index.references("if") == [] and index.references("True") == []


def test_the_map_from_an_updated_index_equals_the_map_from_scratch(repo, tmp_path):
    index = CodeIndex(repo, cache_dir=tmp_path / "cache")
    index.refresh()
    (repo / "svc" / "use.py").write_text("from pkg.cli import main\n\n\ndef go():\n    return main() + helper()\n")
    (repo / "pkg" / "cli.py").write_text(FILES["pkg/cli.py"] + "\n\ndef extra():\n    return Engine()\n")
    index.refresh()
    scratch = CodeIndex(repo, cache_dir=tmp_path / "scratch")
    scratch.refresh()
    for budget, focus in ((10_000, ()), (40, ()), (10_000, ["go"])):
        assert repo_map(index, budget, focus) == repo_map(scratch, budget, focus)
    assert repo_map(index, 10_000).startswith("pkg/core.py:")


def test_a_damaged_stored_object_is_parsed_again(repo, tmp_path):
    cache = tmp_path / "cache"
    CodeIndex(repo, cache_dir=cache).refresh()
    for stored in cache.glob("packs-*/*"):
        stored.write_bytes(b"\x00garbage")
    index = CodeIndex(repo, cache_dir=cache)
    assert index.refresh() == 0  # the manifest still knows every file
    assert index.definitions("helper")[0].path == "pkg/core.py"


# Layouts the regular-expression scan of Python must read as tree-sitter does.
TRICKY_PYTHON = r'''"""Module doc with def fake(): and class Fake: inside."""
import functools


@functools.cache
def cached(a, b=(1,
  2)):
    return rb'\'' + Rb"x" + f"{a!r}" + u'y' + br"""z
def not_a_def():
""" + "#" # real comment "with quotes'


class Outer(Base, metaclass=Meta):
    """Doc."""
    attr = {'k': [1,
2]}

    @property
    def prop(self):  # comment
        return self._p

    async def fetch(self):
        x = textwrap.dedent("""
def inside_string():
""").strip()
        return x \
            + 1
        # trailing at body depth

    # trailing at class depth
    if sys.version_info > (3,):
        def conditional(self):
            pass
    class Inner:
        def deep(self): return 1
      # between depths

    def one_liner(self): pass
  # shallower than the class body


def after(subclass, classes):
    return [c for c in classes if subclass in c]


def ünï(x): return x
class Last: pass
# end
'''


def test_the_python_scan_reads_what_tree_sitter_reads():
    data = TRICKY_PYTHON.encode()
    _, tree_defs, tree_code = scan_with_tree_sitter("m.py", data)
    scanned = python_scan.scan(data)
    assert scanned is not None
    defs, code = scanned
    assert defs == tree_defs and len(defs) == 11
    words = re.compile(rb"[\w\x80-\xff]+")  # what counts as a use: names outside comments and strings
    assert Counter(words.findall(code)) == Counter(words.findall(tree_code))


def test_python_that_the_scan_does_not_know_is_parsed_by_tree_sitter(tmp_path):
    tabs = b"class A:\n\tdef f(self):\n\t\treturn 1\n"
    unterminated = b"def g():\n    return 'no end\n"
    nested_quotes = b'def h(d):\n    return f"{d["k"]}"\n'  # Python 3.12
    assert python_scan.scan(tabs) is None and python_scan.scan(unterminated) is None
    assert python_scan.scan(nested_quotes) is None
    (tmp_path / "tabs.py").write_bytes(tabs)
    (tmp_path / "broken.py").write_bytes(unterminated)
    index = CodeIndex(tmp_path, cache_dir=tmp_path / ".cache")
    index.refresh()
    assert [(s.name, s.kind, s.line) for s in index.definitions("f")] == [("f", "method", 2)]
    assert [s.path for s in index.definitions("g")] == ["broken.py"]

"""Code search over a small multi-language repository: definitions, references, fuzzy lookup,
incremental re-indexing, a ranked map within budget, and plain text search."""

from __future__ import annotations

import subprocess

import pytest

from tools.code_index import CodeIndex
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

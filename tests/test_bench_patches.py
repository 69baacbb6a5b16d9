"""What a patch changes is read as `git apply` reads it (every section, renames, copies, modes,
symlinks, binaries), checked by git itself; each suite kind's drop rule acts on that reading."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from benchmarks.patch_reader import PatchError, read_patch
from benchmarks.patches import (
    changed_lines, drop_test_changes, is_test_path, keep_changes, runner_hazard, swebench_changes,
)

SRC = "diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
CONFTEST = ("diff --git a/conftest.py b/conftest.py\nnew file mode 100644\n--- /dev/null\n+++ b/conftest.py\n"
            "@@ -0,0 +1 @@\n+import pytest\n")
TEST = "diff --git a/tests/test_mod.py b/tests/test_mod.py\n--- a/tests/test_mod.py\n+++ b/tests/test_mod.py\n@@ -1 +1 @@\n-x\n+y\n"


def git_diff(tmp_path: Path, before: dict[str, str | bytes], after: dict[str, str | bytes],
             links: dict[str, str] = {}, modes: dict[str, str] = {}) -> str:
    """A real `git diff` (renames and copies detected, binaries included) from `before` to
    `after`, plus symlinks and mode changes."""
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout

    def write(files: dict[str, str | bytes]) -> None:
        for path in {*before, *after}:
            (repo / path).unlink(missing_ok=True)
        for path, content in files.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_bytes(content if isinstance(content, bytes) else content.encode())

    git("init", "-q")
    write(before)
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    write(after)
    for path, target in links.items():
        (repo / path).symlink_to(target)
    git("add", "-A")
    for path, mode in modes.items():
        git("update-index", f"--chmod={mode}", path)
    return git("diff", "--cached", "-M", "-C", "--find-copies-harder", "--binary")


def test_test_files_and_set_up_are_dropped_and_source_kept():
    kept, dropped = drop_test_changes(SRC + CONFTEST + TEST)
    assert kept == SRC
    assert dropped == ["conftest.py", "tests/test_mod.py"]


def test_which_paths_count_as_tests():
    for path in ("tests/x.py", "pkg/test_x.py", "x_test.py", "sub/conftest.py", "tox.ini", "pytest.ini",
                 ".pytest.ini", "setup.cfg", "pyproject.toml", "sitecustomize.py", "evil.pth"):
        assert is_test_path(path), path
    for path in ("pkg/mod.py", "pkg/testing_utils_impl.py", "latest.py", "contest.py"):
        assert not is_test_path(path), path


def test_plain_diffs_without_git_headers_are_read_by_their_hunk_counts():
    plain = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-1\n+2\n--- a/tests/t.py\n+++ b/tests/t.py\n@@ -1 +1 @@\n-1\n+2\n"
    assert [c.path for c in read_patch(plain)] == ["x.py", "tests/t.py"]
    assert drop_test_changes(plain)[1] == ["tests/t.py"]


def test_a_section_hidden_after_a_hunk_of_another_file_is_seen():
    hidden = SRC + "--- /dev/null\n+++ b/conftest.py\n@@ -0,0 +1 @@\n+import os\n"
    assert [(c.kind, c.path) for c in read_patch(hidden)] == [("modify", "pkg/mod.py"), ("create", "conftest.py")]
    assert drop_test_changes(hidden) == (SRC, ["conftest.py"])


def test_a_git_header_whose_file_lines_name_another_file_is_read_by_the_file_lines():
    lying = "diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/conftest.py\n+++ b/conftest.py\n@@ -0,0 +1 @@\n+import os\n"
    assert [c.path for c in read_patch(lying)] == ["conftest.py"]
    assert drop_test_changes(lying) == ("", ["conftest.py"])


def test_a_removed_line_that_looks_like_a_file_header_stays_in_its_hunk():
    sql = ("diff --git a/q.sql b/q.sql\n--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1 @@\n--- a/x\n"
           "-+++ b/conftest.py\n+x\n")
    (change,) = read_patch(sql)
    assert (change.path, change.added, change.deleted) == ("q.sql", 1, 2)


def test_renames_copies_deletions_modes_symlinks_and_binaries_as_git_writes_them(tmp_path):
    body = "".join(f"line {i}\n" for i in range(20))
    diff = git_diff(tmp_path,
                    {"agent/__init__.py": body, "tests/conftest.py": body + "x\n", "run.sh": "echo\n",
                     "old.py": "gone\n", "logo.png": b"\x89PNG\0\x01"},
                    {"sitecustomize.py": body, "tests/conftest.py": body + "x\n", "conftest.py": body + "x\n",
                     "run.sh": "echo\n", "logo.png": b"\x89PNG\0\x02", "sp ace\u00e9.py": "x\n"},
                    links={"helper.py": "tests/conftest.py"}, modes={"run.sh": "+x"})
    changes = {c.name: c for c in read_patch(diff)}
    assert changes["agent/__init__.py => sitecustomize.py"].kind == "rename"
    assert changes["tests/conftest.py => conftest.py"].kind == "copy"
    assert changes["old.py"].kind == "delete"
    assert (changes["run.sh"].old_mode, changes["run.sh"].new_mode) == (0o100644, 0o100755)
    assert changes["helper.py"].special_mode and runner_hazard(changes["helper.py"])
    assert changes["logo.png"].binary
    assert changes["sp ace\u00e9.py"].kind == "create"
    kept, dropped = drop_test_changes(diff)
    assert sorted(dropped) == ["agent/__init__.py => sitecustomize.py", "helper.py",
                               "tests/conftest.py => conftest.py"]
    assert [c.path for c in read_patch(kept)] == ["logo.png", "old.py", "run.sh", "sp ace\u00e9.py"]


def test_the_kept_patch_names_each_side_once_so_gnu_patch_writes_the_files_git_read(tmp_path):
    """The grader falls back to GNU patch when git rejects a hunk; GNU patch takes a creation's
    `---` name that git ignores and ends an unquoted name at a space. The kept patch is written
    with git's names only, so both tools write the vetted files."""
    fuzz = "--- a/m.py\n+++ b/m.py\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n not in the file\n"  # git rejects it

    def create(old: str, new: str) -> str:
        return f"--- {old}\n+++ {new}\n@@ -0,0 +1 @@\n+import os\n"

    diff = fuzz + create("a/conftest.py", "b/newdir/helper.py") + create("a/conftest.py x", "b/conftest.py x")
    kept, dropped = drop_test_changes(diff)
    assert dropped == [] and "conftest.py\n" not in kept
    assert [(c.kind, c.path) for c in read_patch(kept)] == [
        ("modify", "m.py"), ("create", "newdir/helper.py"), ("create", "conftest.py x")]
    (tmp_path / "m.py").write_text("a\nb\nc\n")
    (tmp_path / "kept.patch").write_text(kept)
    assert subprocess.run(["git", "apply", "kept.patch"], cwd=tmp_path, capture_output=True).returncode != 0
    subprocess.run(["patch", "--batch", "--fuzz=5", "--no-backup-if-mismatch", "-p1", "-i", "kept.patch"], cwd=tmp_path, check=True,
                   capture_output=True)
    written = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {"m.py", "kept.patch", "newdir/helper.py", "conftest.py x"}


def test_a_file_python_would_import_in_place_of_a_helper_module_is_dropped_with_it():
    def created(path: str) -> str:
        return f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+def raises(*a): pass\n"

    helpers = {"toolz/utils.py"}
    for path in ("toolz/utils.py", "toolz/utils/__init__.py", "toolz/utils.cpython-311-x86_64-linux-gnu.so"):
        assert drop_test_changes(created(path), helpers) == ("", [path]), path
    for path in ("toolz/utils_extra.py", "toolz/utils/data.txt", "utils/__init__.py"):
        assert drop_test_changes(created(path), helpers)[1] == [], path


def test_runner_hazards_are_dropped_for_every_suite_kind():
    def created(path: str) -> str:
        return f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+x\n"

    for path in ("pytest.py", "dgm_report.py", "sitecustomize/__init__.py", "usercustomize.py", "pkg/deep/evil.pth",
                 "evil-1.0.dist-info/entry_points.txt", "x.egg-info/PKG-INFO", "src/_pytest/__init__.py", "json.py",
                 ".git/config", "./pytest.py", "pkg/./helpers.py", "pkg/../pytest.py"):
        assert keep_changes(created(path), lambda p: False) == ("", [path]), path
        assert swebench_changes(created(path), "") == ("", [path]), path
    for path in ("pkg/json.py", "py.typed", "django/test/testcases.py", "docs/pytest.md"):
        assert keep_changes(created(path), lambda p: False)[1] == [], path


def test_swebench_keeps_source_under_test_directories_and_config_but_resets_the_test_patch_files():
    def modified(path: str) -> str:
        return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n"

    kept_paths = ("django/test/testcases.py", "sympy/testing/runtests.py", "setup.cfg", "pyproject.toml", "tox.ini")
    test_patch = modified("tests/test_x.py")
    diff = "".join(modified(p) for p in kept_paths) + modified("tests/test_x.py")
    kept, dropped = swebench_changes(diff, test_patch)
    assert [c.path for c in read_patch(kept)] == list(kept_paths)
    assert dropped == ["tests/test_x.py"]


def test_a_patch_git_cannot_read_is_refused_whole():
    corrupt = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,3 +1,3 @@\n-a\n+b\n"
    with pytest.raises(PatchError, match="corrupt"):
        read_patch(corrupt)
    kept, dropped = keep_changes(corrupt, lambda p: False)
    assert kept == "" and dropped[0].startswith("(the whole patch: ")


def test_a_hunk_with_no_file_header_is_refused():
    with pytest.raises(PatchError, match="without a file header"):
        read_patch("garbage\n@@ -1 +1 @@\n-a\n+b\n")


def test_changed_lines_locate_removals_and_insertions():
    diff = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -2,2 +2,2 @@\n x\n-y\n+z\n"
    assert changed_lines(diff) == {("m.py", 3)}


def test_every_diff_in_this_repositorys_history_is_read_without_refusal_and_rebuilt_byte_for_byte():
    root = Path(__file__).resolve().parents[1]
    shas = subprocess.run(["git", "-C", str(root), "rev-list", "--no-merges", "-n", "60", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert len(shas) >= 20
    for sha in shas:
        for options in (["-M", "-C", "--binary"], ["-U0"]):
            diff = subprocess.run(["git", "-C", str(root), "show", "--format=", *options, sha],
                                  capture_output=True, check=True).stdout.decode("utf-8", "surrogateescape")
            changes = read_patch(diff)
            assert "".join(c.text for c in changes) == diff, (sha, options)

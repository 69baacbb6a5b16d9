"""Graded patches lose every change to tests and test set-up, and keep everything else exactly."""

from __future__ import annotations

from benchmarks.patches import drop_test_changes, is_test_path, split_files

SRC = "diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"
CONFTEST = ("diff --git a/conftest.py b/conftest.py\nnew file mode 100644\n--- /dev/null\n+++ b/conftest.py\n"
            "@@ -0,0 +1 @@\n+import pytest\n")
TEST = "diff --git a/tests/test_mod.py b/tests/test_mod.py\n--- a/tests/test_mod.py\n+++ b/tests/test_mod.py\n@@ -1 +1 @@\n-x\n+y\n"


def test_test_files_and_set_up_are_dropped_and_source_kept():
    kept, dropped = drop_test_changes(SRC + CONFTEST + TEST)
    assert kept == SRC
    assert dropped == ["conftest.py", "tests/test_mod.py"]


def test_which_paths_count_as_tests():
    for path in ("tests/x.py", "pkg/test_x.py", "x_test.py", "sub/conftest.py", "tox.ini", "pytest.ini",
                 "setup.cfg", "pyproject.toml", "sitecustomize.py", "evil.pth"):
        assert is_test_path(path), path
    for path in ("pkg/mod.py", "pkg/testing_utils_impl.py", "latest.py", "contest.py"):
        assert not is_test_path(path), path


def test_plain_diffs_without_git_headers_split_by_file():
    plain = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-1\n+2\n--- a/tests/t.py\n+++ b/tests/t.py\n@@ -1 +1 @@\n-1\n+2\n"
    assert [path for path, _ in split_files(plain)] == ["x.py", "tests/t.py"]
    assert drop_test_changes(plain)[1] == ["tests/t.py"]

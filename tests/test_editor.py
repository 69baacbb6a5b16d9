"""The editor places model edits where they belong, forgives drift, and never guesses."""

from __future__ import annotations

import os

import pytest

from tools.editor import EditError, Editor

SOURCE = '''\
import os


def area(width, height):
    """Area of a rectangle."""
    if width < 0 or height < 0:
        raise ValueError("negative size")
    return width * height


def perimeter(width, height):
    return 2 * (width + height)


def describe(width, height):
    total = area(width, height)
    return f"{width}x{height} = {total}"
'''


@pytest.fixture()
def repo(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "shapes.py").write_text(SOURCE)
    (tmp_path / "notes.txt").write_text("alpha\nbeta\nbeta\n")
    return tmp_path


def _text(repo):
    return (repo / "pkg" / "shapes.py").read_text()


def test_exact_fragment_replacement(repo):
    message = Editor(repo).str_replace("pkg/shapes.py", "width * height", "width * height * 1")
    assert "exact" in message and "return width * height * 1\n" in _text(repo)


def test_drifted_whitespace_is_placed_at_the_right_lines(repo):
    old = "    if width <  0 or height < 0:   \n        raise ValueError(\"negative size\")\n"
    new = "    if width < 0 or height < 0:\n        raise ValueError(\"size must be positive\")\n"
    message = Editor(repo).str_replace("pkg/shapes.py", old, new)
    assert "whitespace" in message
    assert _text(repo) == SOURCE.replace("negative size", "size must be positive")


def test_wrong_indentation_is_shifted_back_with_the_replacement(repo):
    old = "if width < 0 or height < 0:\n    raise ValueError(\"negative size\")\nreturn width * height\n"
    new = "if width <= 0 or height <= 0:\n    raise ValueError(\"negative size\")\nreturn width * height\n"
    message = Editor(repo).str_replace("pkg/shapes.py", old, new)
    assert "indentation" in message
    assert "    if width <= 0 or height <= 0:\n        raise" in _text(repo)


def test_elided_lines_keep_the_file_lines_between_pieces(repo):
    old = "def area(width, height):\n    ...\n    return width * height\n"
    new = "def area(width, height):\n    ...\n    return abs(width * height)\n"
    message = Editor(repo).str_replace("pkg/shapes.py", old, new)
    assert "elision" in message
    assert _text(repo) == SOURCE.replace("return width * height", "return abs(width * height)")


def test_a_stale_line_is_fixed_by_a_clear_fuzzy_match(repo):
    old = "def describe(width, height):\n    total = area(width, heigth)\n    return f\"{width}x{height} = {total}\"\n"
    new = "def describe(width, height):\n    total = area(width, heigth)\n    return f\"{width} by {height}\"\n"
    message = Editor(repo).str_replace("pkg/shapes.py", old, new)
    assert "fuzzy" in message
    # the line the model remembered wrong keeps the file's version
    assert _text(repo) == SOURCE.replace('return f"{width}x{height} = {total}"', 'return f"{width} by {height}"')


def test_ambiguous_text_is_refused_with_its_places(repo):
    with pytest.raises(EditError, match=r"occurs 2 times.*lines 2, 3"):
        Editor(repo).str_replace("notes.txt", "beta", "gamma")
    assert (repo / "notes.txt").read_text() == "alpha\nbeta\nbeta\n"


def test_a_miss_shows_the_closest_real_lines(repo):
    with pytest.raises(EditError) as failure:
        Editor(repo).str_replace("pkg/shapes.py", "def volume(w, h, d):\n    return w * h * d\n", "x\n")
    assert "closest lines" in str(failure.value)
    assert "\tdef " in str(failure.value)  # numbered real lines


def test_an_edit_already_made_is_reported_as_such(repo):
    with pytest.raises(EditError, match="replacement is already in the file"):
        Editor(repo).str_replace("pkg/shapes.py", "return width * height * 3\n", "return width * height\n")


def test_python_that_would_not_parse_is_refused(repo):
    with pytest.raises(EditError, match="would no longer parse"):
        Editor(repo).str_replace("pkg/shapes.py", "return width * height", "return width * (height")
    assert _text(repo) == SOURCE


def test_writes_are_atomic_keep_the_mode_and_undo_restores(repo):
    path = repo / "pkg" / "shapes.py"
    os.chmod(path, 0o755)
    editor = Editor(repo)
    editor.str_replace("pkg/shapes.py", "import os\n", "import sys\n")
    assert os.stat(path).st_mode & 0o777 == 0o755
    assert [p.name for p in (repo / "pkg").iterdir()] == ["shapes.py"]
    editor.undo("pkg/shapes.py")
    assert _text(repo) == SOURCE
    with pytest.raises(EditError, match="no edit"):
        editor.undo("pkg/shapes.py")


def test_blocks_for_several_files_apply_what_matches_and_name_what_failed(repo):
    blocks = (
        "pkg/shapes.py\n<<<<<<< SEARCH\n    return 2 * (width + height)\n=======\n    return 2 * width + 2 * height\n>>>>>>> REPLACE\n\n"
        "notes.txt\n<<<<<<< SEARCH\nomega\n=======\nzeta\n>>>>>>> REPLACE\n\n"
        "pkg/new.py\n<<<<<<< SEARCH\n=======\nVALUE = 1\n>>>>>>> REPLACE\n"
    )
    report = Editor(repo).apply_blocks(blocks)
    assert "block 1: edited pkg/shapes.py" in report and "block 3: wrote pkg/new.py" in report
    assert "block 2 (notes.txt) failed" in report and "resend only the failed ones" in report
    assert (repo / "pkg" / "new.py").read_text() == "VALUE = 1\n"


def test_a_unified_diff_with_drifted_line_numbers_applies(repo):
    diff = (
        "--- a/pkg/shapes.py\n+++ b/pkg/shapes.py\n@@ -40,3 +40,3 @@\n"
        " def describe(width, height):\n-    total = area(width, height)\n+    total = area(height, width)\n"
        "     return f\"{width}x{height} = {total}\"\n"
        "--- /dev/null\n+++ b/pkg/extra.py\n@@ -0,0 +1,1 @@\n+X = 2\n"
    )
    report = Editor(repo).apply_diff(diff)
    assert "edited pkg/shapes.py" in report and "created pkg/extra.py" in report
    assert "total = area(height, width)" in _text(repo)


def test_paths_outside_the_repository_and_existing_files_are_refused(repo):
    editor = Editor(repo)
    with pytest.raises(EditError, match="outside the repository"):
        editor.view("../etc/passwd")
    with pytest.raises(EditError, match="already exists"):
        editor.create("notes.txt", "x")


def test_view_numbers_lines_and_lists_directories(repo):
    editor = Editor(repo)
    assert editor.view("pkg/shapes.py", 4, 5) == "     4\tdef area(width, height):\n     5\t    \"\"\"Area of a rectangle.\"\"\"\n"
    assert editor.view(".") == "notes.txt\npkg/"
    assert editor.insert("notes.txt", 0, "top") == "inserted 1 line(s) after line 0 of notes.txt"
    assert (repo / "notes.txt").read_text().startswith("top\nalpha")

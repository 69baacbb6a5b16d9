"""Files and trees cross the container boundary byte-exact, in both directions."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from sandbox.container import Sandbox
from sandbox.engine import SandboxError


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_a_tree_round_trips_byte_exact(sandbox_image, tmp_path):
    src = tmp_path / "src"
    (src / "pkg" / "deep").mkdir(parents=True)
    (src / "pkg" / "text.py").write_text("print('héllo')\r\n\tTabs and CRLF\n")
    (src / "pkg" / "deep" / "blob.bin").write_bytes(os.urandom(3 * 2**20))
    (src / "empty.txt").write_bytes(b"")
    (src / "nul.bin").write_bytes(bytes(range(256)) * 64)
    # The container copies the tree itself, so what comes back went through its file system.
    with Sandbox(sandbox_image, ["cp", "-a", "/work/in", "/work/out"]) as box:
        box.put("/work/in", src)
        assert box.run().ok
        box.get_tree("/work/out", tmp_path / "back")
    assert _tree_digest(tmp_path / "back" / "out") == _tree_digest(src)


def test_mapping_content_is_written_and_read_back(sandbox_image):
    files = {"a.txt": "alpha\n", "sub/dir/b.bin": b"\x00\xff\x10"}
    with Sandbox(sandbox_image, ["bash", "-c", "cat /work/job/a.txt > /work/job/copy.txt"]) as box:
        box.put("/work/job", files)
        assert box.run().ok
        assert box.read("/work/job/sub/dir/b.bin") == b"\x00\xff\x10"
        assert box.read("/work/job/copy.txt") == b"alpha\n"


def test_one_archive_of_several_copies_adds_them_all_even_to_one_destination(sandbox_image, tmp_path):
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "f.py").write_text("x = 1\n")
    with Sandbox(sandbox_image, ["true"]) as box:
        box.put_all([("/work/task", {"setup.patch": "p"}), ("/work/g/tree", tmp_path / "tree"),
                     ("/work/task", {"issue.md": "i"})])
        assert box.read("/work/task/setup.patch") == b"p" and box.read("/work/task/issue.md") == b"i"
        assert box.read("/work/g/tree/f.py") == b"x = 1\n"


def test_the_agent_user_can_write_into_copied_directories(sandbox_image, tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "f.py").write_text("x = 1\n")
    with Sandbox(sandbox_image, ["bash", "-c", "echo y >> /work/a/b/repo/f.py && touch /work/a/new"]) as box:
        box.put("/work/a/b/repo", tmp_path / "repo")
        result = box.run()
        assert result.ok, result.stderr
        assert box.read("/work/a/b/repo/f.py") == b"x = 1\ny\n"


def test_copying_outside_work_or_missing_paths_is_refused(sandbox_image, tmp_path):
    with Sandbox(sandbox_image, ["true"]) as box:
        with pytest.raises(SandboxError, match="only be copied under /work"):
            box.put("/etc", {"x": "y"})
        with pytest.raises(SandboxError, match="does not exist"):
            box.put("/work/x", tmp_path / "missing")
        box.run()
        with pytest.raises(SandboxError, match="/work/nothing does not exist"):
            box.read("/work/nothing")

"""A run session's private temp directory (checkouts, the gateway's socket, and every other
temporary file or directory the session makes), and the removal of those a killed session left
behind.

Each directory holds `.owner`, a file its session keeps flock-ed for as long as it lives; the
kernel drops the lock when the process dies, however it dies. So at start-up a directory whose
`.owner` can be locked belongs to a dead session and is removed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "dgm-run-"
OWNER = ".owner"


@contextmanager
def run_workspace() -> Iterator[Path]:
    sweep_dead_workspaces()
    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        # locked before it is named `.owner`, so a sweep never sees it unlocked while we live
        fd = os.open(Path(tmp, OWNER + ".new"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(Path(tmp, OWNER + ".new"), Path(tmp, OWNER))
            # The session's other temporary files (a task's exec-relay socket, a commit's index,
            # an image's build context) go in here too, so a SIGKILL leaves them to the sweep.
            outer, tempfile.tempdir = tempfile.tempdir, tmp
            try:
                yield Path(tmp)
            finally:
                tempfile.tempdir = outer
        finally:
            os.close(fd)


def sweep_dead_workspaces() -> list[Path]:
    """Remove this user's workspaces whose session is gone; returns them."""
    removed = []
    for path in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            if path.is_symlink() or path.lstat().st_uid != os.getuid():
                continue
            fd = os.open(path / OWNER, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # not a workspace of this dgm, or removed meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its session is alive
        finally:
            os.close(fd)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed

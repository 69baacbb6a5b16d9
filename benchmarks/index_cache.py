"""The code index an agent builds, carried by the host to the next agent on the same task, so that
agent starts warm: its index tools parse only what its own checkout changed.

The seed agent keeps its index under $DGM_INDEX_CACHE (`agent/actions.py`; `tools/code_index.py`
stores parse results keyed by content hash and by the version of the index code itself). The host
copies the directory out after the first agent on a task that built one, and into every later
agent's container on that task, keyed by the task's image and set-up and by the genome's index
code (`INDEX_CODE`: a variant with other index code gets its own cache). The host only copies
files: it runs no genome code.

What the first agent leaves is trusted as far as its index code is: a later agent with the same
index code on the same task reads it. The index only guides the agent's search; grading never
reads it.
"""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
from pathlib import Path

from benchmarks.task_suite import AgentSetup
from dgm.errors import DgmError
from dgm.user_cache import user_cache

ENV = "DGM_INDEX_CACHE"  # the variable `agent/actions.py` reads
IN_CONTAINER = "/work/index-cache"
MAX_BYTES = 256 * 2**20  # far above a real index (the standard library's takes 8 MB): not kept
INDEX_CODE = ("tools/code_index.py", "tools/python_scan.py")  # the genome's files that make the index


def host_cache(genome_dir: Path, image: str, setup: AgentSetup) -> Path:
    """The host directory that holds (or will hold) the index for this genome's index code on this task."""
    key = hashlib.sha256("\0".join((image, setup.repo, setup.repo_setup)).encode())
    for name in INDEX_CODE:
        code = genome_dir / name
        key.update(b"\0" + (code.read_bytes() if code.is_file() else b""))
    return user_cache("agent-index") / key.hexdigest()[:20]


def carry_out(box, cached: Path) -> None:
    """Keep the container's index as `cached`, unless an earlier agent's is there already."""
    if cached.exists():
        return
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent, prefix=".incoming-") as tmp:
        try:
            box.get_tree(IN_CONTAINER, Path(tmp))
        except (DgmError, tarfile.TarError):  # no index (the agent never used it), or links out
            return
        got = Path(tmp) / Path(IN_CONTAINER).name
        size = sum(f.stat().st_size for f in got.rglob("*") if f.is_file()) if got.is_dir() else 0
        if 0 < size <= MAX_BYTES:
            try:
                got.rename(cached)
            except OSError:  # another evaluation of this task kept its own first
                pass

"""Where dgm keeps what outlives a run on this machine: the user's cache directory."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache(name: str) -> Path:
    """~/.cache/dgm/NAME, under $XDG_CACHE_HOME when it is set."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dgm" / name

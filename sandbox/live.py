"""Containers this process has created and not yet removed, so an interrupt can remove them all."""

from __future__ import annotations

import atexit
import threading
from typing import Any

_lock = threading.Lock()
_live: dict[str, Any] = {}


def remember(container: Any) -> None:
    with _lock:
        _live[container.id] = container


def forget(container: Any) -> None:
    with _lock:
        _live.pop(container.id, None)


def remove_all() -> int:
    """Force-remove every live container (on Ctrl-C, SIGTERM or exit). Returns how many."""
    with _lock:
        containers = list(_live.values())
        _live.clear()
    for container in containers:
        try:
            container.remove(force=True, v=True)
        except Exception:  # already gone, or the daemon is going away: the next start-up reaps it
            pass
    return len(containers)


atexit.register(remove_all)

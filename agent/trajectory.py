"""A JSONL record of everything the agent saw and did, flushed line by line."""

from __future__ import annotations

import json
import time
from pathlib import Path


class Trajectory:
    def __init__(self, path: Path | None) -> None:
        self._file = path.open("a") if path else None

    def write(self, kind: str, **fields: object) -> None:
        if self._file:
            self._file.write(json.dumps({"type": kind, "time": time.time(), **fields}, default=str) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file:
            self._file.close()

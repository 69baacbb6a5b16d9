"""`<run_dir>/llm_calls.jsonl`: one line per attempt at the provider (and per refused call), with
tokens, cache hits, cost and latency, so a run's spend can be read back after any crash."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

LOG_FILE = "llm_calls.jsonl"


class CallLog:
    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / LOG_FILE
        self._lock = threading.Lock()

    def write(self, **record: object) -> None:
        line = json.dumps({"time": time.time(), **record}) + "\n"
        with self._lock, self.path.open("a") as f:
            f.write(line)


def spent_in_log(run_dir: Path) -> float:
    """What earlier gateways of a run spent, from its call log: a resumed run starts from there,
    including calls of work that was killed before its result was recorded."""
    log = run_dir / LOG_FILE
    if not log.exists():
        return 0.0
    total = 0.0
    for line in log.read_text().splitlines():
        try:
            total += float(json.loads(line).get("cost") or 0.0)
        except (json.JSONDecodeError, AttributeError, ValueError):
            continue  # a line cut short by a kill
    return total

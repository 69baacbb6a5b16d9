"""Plain text search: `git grep` in a git repository, a Python scan elsewhere."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tools.code_index import MAX_BYTES, SKIP_DIRS


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    text: str


def text_search(root: Path, pattern: str, regex: bool = False, limit: int = 50) -> list[Hit]:
    if (root / ".git").exists():
        flag = "-E" if regex else "-F"
        proc = subprocess.run(["git", "grep", "-n", "-I", flag, "-e", pattern], cwd=root,
                              capture_output=True, text=True, errors="replace")
        hits = []
        for line in proc.stdout.splitlines()[:limit]:
            path, number, text = line.split(":", 2)
            hits.append(Hit(path, int(number), text.strip()))
        return hits
    matcher = re.compile(pattern) if regex else None
    hits = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            full = Path(dirpath, name)
            if full.stat().st_size > MAX_BYTES:
                continue
            try:
                lines = full.read_text().splitlines()
            except (UnicodeDecodeError, OSError):
                continue
            for number, text in enumerate(lines, 1):
                if (matcher.search(text) if matcher else pattern in text):
                    hits.append(Hit(str(full.relative_to(root)), number, text.strip()))
                    if len(hits) >= limit:
                        return hits
    return hits

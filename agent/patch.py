"""The agent's answer: `git diff` of the repository against its HEAD, new files included."""

from __future__ import annotations

import subprocess
from pathlib import Path


def repository_diff(repo: Path) -> str:
    # Intent-to-add makes new files show in the diff without staging their content.
    subprocess.run(["git", "add", "--intent-to-add", "--all"], cwd=repo, capture_output=True)
    return subprocess.run(["git", "diff", "--binary", "HEAD"], cwd=repo, capture_output=True,
                          text=True, errors="replace").stdout

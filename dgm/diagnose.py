"""Diagnose a failed task: turn the parent's failure into one improvement, written as an issue.

The diagnosis model sees the task's problem statement, how the attempt ended (per-test outcomes,
never test source, gold patches or held-out tasks) and the parent's trajectory, plus the parent's
genome as found with its own search tools.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

PROMPT = Path(__file__).with_name("prompts") / "diagnose.md"
TRAJECTORY_CHARS = 12_000
FILES_CHARS = 16_000

ModelCall = Callable[[list[dict]], str]


@dataclass(frozen=True)
class Diagnosis:
    task_id: str
    summary: str  # one line, shown in the lineage tree
    issue: str  # what the parent works on when it modifies itself


def render_trajectory(path: Path, limit: int = TRAJECTORY_CHARS) -> str:
    """The end of a JSONL trajectory as plain text; the end is where failures show."""
    if not path.exists():
        return "(no trajectory was recorded)"
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            continue
        kind = record.get("type") or record.get("role") or "record"
        body = record.get("content") or record.get("output") or record.get("message") or ""
        if not isinstance(body, str):
            body = json.dumps(body)
        extra = record.get("tool_calls") or record.get("name") or record.get("reason") or ""
        lines.append(f"[{kind}] {extra if isinstance(extra, str) else json.dumps(extra)} {body}".strip())
    text = "\n".join(lines)
    return text if len(text) <= limit else "...\n" + text[-limit:]


def relevant_files(genome_dir: Path, trajectory: str, limit: int = FILES_CHARS) -> tuple[str, str]:
    """A ranked map of the genome and the text of the files it ranks first for this failure.

    The focus is every genome symbol the trajectory mentions (tool names, functions in
    tracebacks), so the map puts the code that was on the failing path first.
    """
    from tools.code_index import CodeIndex
    from tools.repo_map import repo_map

    # the index cache stays outside the genome, which must not change by being read
    index = CodeIndex(genome_dir, cache_dir=Path(tempfile.gettempdir()) / "dgm-diagnose-index")
    index.refresh()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]{3,}", trajectory))
    focus = sorted({s.path for w in words for s in index.definitions(w, limit=3)})
    chosen = focus or index.files()
    parts, used = [], 0
    for rel in chosen:
        text = (genome_dir / rel).read_text(errors="replace")
        if used + len(text) > limit:
            continue
        parts.append(f"## {rel}\n```python\n{text}\n```")
        used += len(text)
    return repo_map(index, token_budget=1500, focus=focus), "\n\n".join(parts)


def describe_outcome(resolved: bool, test_outcomes: dict[str, str], agent_exit: str) -> str:
    failing = [f"- {name}: {outcome}" for name, outcome in sorted(test_outcomes.items()) if outcome != "passed"]
    lines = [f"The agent ended with: {agent_exit}.", f"Resolved: {'yes' if resolved else 'no'}."]
    if failing:
        lines += ["Tests that did not pass after its patch:", *failing[:30]]
    return "\n".join(lines)


def parse_diagnosis(task_id: str, answer: str) -> Diagnosis:
    match = re.search(r"SUMMARY:\s*(.+?)\s*\n\s*ISSUE:\s*\n?(.*)", answer, re.S)
    if match:
        return Diagnosis(task_id, match.group(1).strip(), match.group(2).strip())
    first = answer.strip().splitlines()[0] if answer.strip() else "(empty diagnosis)"
    return Diagnosis(task_id, first[:120], answer.strip())


def diagnose(call: ModelCall, genome_dir: Path, task_id: str, problem_statement: str,
             outcome: str, trajectory_path: Path) -> Diagnosis:
    trajectory = render_trajectory(trajectory_path)
    repo_map_text, files = relevant_files(genome_dir, trajectory)
    prompt = Template(PROMPT.read_text()).safe_substitute(
        problem_statement=problem_statement, outcome=outcome, trajectory=trajectory,
        repo_map=repo_map_text, files=files,
    )
    return parse_diagnosis(task_id, call([{"role": "user", "content": prompt}]))


def pick_failed_task(results: dict[str, bool], candidates: Sequence[str], rng) -> str | None:
    """One of the parent's failed tasks among `candidates` (never held-out ones), or None."""
    failed = sorted(t for t in candidates if results.get(t) is False)
    return rng.choice(failed) if failed else None

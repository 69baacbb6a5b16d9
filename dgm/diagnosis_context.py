"""What the diagnosis model is shown of a failed attempt, in the manner of DGM and within a token
budget: the whole trajectory with old tool outputs elided (never cut from the front), the agent's
final patch, the grading's test output (the source lines of its tracebacks left out) and per-test
results (never the test source or the gold patch), and the genome files the agent actually ran:
its prompts and every module imported from its entry point (the repair policy left out when a
model drives the agent).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archive.db import VERIFICATION_STAGE, RunDB
from benchmarks.tasks import Task
from dgm.eval_record import read_result
from dgm.verification import task_of

CHARS_PER_TOKEN = 4  # a conservative estimate for code and logs; the budget is approximate by design
KEEP_LAST_OUTPUTS = 6  # the most recent tool outputs stay whole: the end is where failures show
ELIDED_OUTPUT = 300  # characters kept of an older tool output
ENTRY = "agent/__main__.py"
MODEL_FREE = ("agent/repair/",)  # the no-model policy: dead code when a model drives the agent


@dataclass(frozen=True)
class Attempt:
    """One finished evaluation of the parent: a stage's task or a verification try."""
    key: str  # the evaluation's key (its logs live under it)
    task_id: str
    resolved: bool
    agent_exit: str
    reason: str  # the grader's verdict, or "" when not recorded
    empty_patch: bool


def parent_attempts(db: RunDB, logs: Callable[[str, str], Path], variant_id: str,
                    train: Sequence[str]) -> list[Attempt]:
    """Every finished training attempt of `variant_id` (held-out tasks are never diagnosed)."""
    wanted = set(train)
    attempts = []
    for variant, key, stage, status, resolved in db.evaluation_rows():
        if variant != variant_id or status != "done" or task_of(key) not in wanted:
            continue
        if stage < 0 and stage != VERIFICATION_STAGE:
            continue
        log_dir = logs(variant_id, key)
        result = read_result(log_dir)
        patch = log_dir / "agent" / "out" / "patch.diff"
        attempts.append(Attempt(key, task_of(key), bool(resolved), db.agent_exit(variant_id, key),
                                result.reason if result else "", not patch.exists() or not patch.read_text().strip()))
    return attempts


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, its middle elided (heads and tails both carry signal)."""
    if len(text) <= limit:
        return text
    half = max(limit // 2 - 40, 0)
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters elided ...]\n{text[len(text) - half:]}"


def _record_text(record: dict) -> tuple[str, str]:
    """(the record's heading, its elidable body) as plain text."""
    kind = record.get("type", "record")
    if kind == "tool":
        return f"[tool {record.get('name', '?')}] {json.dumps(record.get('arguments', {}))}", str(record.get("output", ""))
    if kind == "message":
        calls = record.get("tool_calls") or []
        called = "".join(f"\n-> {json.dumps(c)}" for c in calls)
        return f"[{record.get('role', 'message')}]{called}", str(record.get("content") or "")
    rest = {k: v for k, v in record.items() if k not in ("type", "time")}
    return f"[{kind}] {json.dumps(rest)}", ""


def render_trajectory(path: Path, limit: int) -> str:
    """The whole trajectory as text within `limit` characters: older tool outputs are elided
    first, then older message bodies, and only then are middle records left out."""
    if not path.exists():
        return "(no trajectory was recorded)"
    records = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    parts = [list(_record_text(r)) for r in records]

    def size() -> int:
        return sum(len(head) + len(body) + 2 for head, body in parts)

    tools = [i for i, r in enumerate(records) if r.get("type") == "tool"]
    older_outputs = tools[:-KEEP_LAST_OUTPUTS] if len(tools) > KEEP_LAST_OUTPUTS else []
    older_records = range(1, max(len(parts) - KEEP_LAST_OUTPUTS, 1))  # never the task message
    for i in [*older_outputs, *older_records]:
        if size() <= limit:
            break
        parts[i][1] = clip(parts[i][1], ELIDED_OUTPUT)
    lines = [f"{head}\n{body}".strip() for head, body in parts]
    if size() <= limit or len(lines) < 3:
        return "\n".join(lines)
    tail: list[str] = []
    used = len(lines[0]) + 60
    for line in reversed(lines[1:]):
        if used + len(line) + 1 > limit:
            break
        tail.insert(0, line)
        used += len(line) + 1
    return "\n".join([lines[0], f"[... {len(lines) - 1 - len(tail)} records left out ...]", *tail])


def _imports(path: Path, rel: str, genome_dir: Path) -> list[str]:
    """Genome files that `rel` imports, in the order it imports them."""
    try:
        tree = ast.parse(path.read_text(errors="replace"))
    except SyntaxError:
        return []
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
            modules += [f"{node.module}.{alias.name}" for alias in node.names]
    found = []
    for module in modules:
        base = module.replace(".", "/")
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if (genome_dir / candidate).is_file() and candidate != rel:
                found.append(candidate)
    return found


def files_run(genome_dir: Path, policy: str) -> list[str]:
    """The agent's prompts, then its entry point and every genome module it imports, breadth first."""
    skip = MODEL_FREE if policy == "llm" else ()
    prompts = sorted(p.relative_to(genome_dir).as_posix() for p in genome_dir.glob("agent/**/*.md"))
    order, queue = [], [ENTRY] if (genome_dir / ENTRY).is_file() else []
    while queue:
        rel = queue.pop(0)
        if rel in order or rel.startswith(skip):
            continue
        order.append(rel)
        queue += _imports(genome_dir / rel, rel, genome_dir)
    return [p for p in prompts if not p.startswith(skip)] + order


def genome_text(genome_dir: Path, policy: str, trajectory: str, limit: int) -> str:
    """The files the agent ran, those the trajectory names (tracebacks) first after the prompts,
    as many whole files as fit in `limit`; the others are listed by name."""
    files = files_run(genome_dir, policy)
    prompts = [f for f in files if f.endswith(".md")]
    named = [f for f in files if f not in prompts and f in trajectory]
    ranked = prompts + named + [f for f in files if f not in prompts and f not in named]
    shown, left, used = [], [], 0
    for rel in ranked:
        text = (genome_dir / rel).read_text(errors="replace")
        if used + len(text) > limit:
            left.append(rel)
            continue
        fence = "markdown" if rel.endswith(".md") else "python"
        shown.append(f"## {rel}\n```{fence}\n{text}\n```")
        used += len(text)
    listing = f"(not shown for lack of room: {', '.join(left)})\n\n" if left else ""
    return listing + "\n\n".join(shown)


def describe_outcome(task: Task, log_dir: Path, agent_exit: str) -> str:
    """How the attempt ended: the agent's exit, the grader's verdict and every listed test's outcome."""
    outcomes_file = log_dir / "grade" / "outcomes.json"
    try:
        outcomes = json.loads(outcomes_file.read_text()) if outcomes_file.exists() else {}
    except ValueError:
        outcomes = {}
    result = read_result(log_dir)
    lines = [f"The agent ended with: {agent_exit or 'unknown'}.",
             f"Grading: {result.reason if result else 'not resolved'}."]
    for title, tests in (("FAIL_TO_PASS (must pass after the fix)", task.fail_to_pass),
                         ("PASS_TO_PASS (must keep passing)", task.pass_to_pass)):
        if tests:
            lines += [f"{title}:", *(f"- {t}: {outcomes.get(t, 'missing')}" for t in tests[:60])]
    return "\n".join(lines)


_SECTION = re.compile(r"^=+ (.+?) =+$")


def test_output_text(output: str) -> str:
    """The grading's test output with the source lines of pytest's tracebacks left out: the
    failing line (`>`), the error (`E`) and where it happened stay, the tests' code does not (the
    model learns how the agent failed, not what the hidden tests contain)."""
    lines, failures, source = [], False, 0
    for line in output.splitlines():
        section = _SECTION.match(line)
        if section:
            failures = section.group(1) in ("FAILURES", "ERRORS")
        if failures and line.startswith("    "):  # pytest's long traceback: a line of source around the failure
            source += 1
            continue
        if source:
            lines.append(f"    [... {source} source line(s) left out ...]")
            source = 0
        lines.append(line)
    return "\n".join(lines)


def diagnosis_context(genome_dir: Path, log_dir: Path, task: Task, agent_exit: str, policy: str,
                      budget_tokens: int) -> dict[str, str]:
    """The prompt's fields for one attempt (logs in `log_dir`), within `budget_tokens` overall."""
    budget = budget_tokens * CHARS_PER_TOKEN
    patch_file = log_dir / "agent" / "out" / "patch.diff"
    patch = patch_file.read_text(errors="replace") if patch_file.exists() else ""
    output_file = log_dir / "grade" / "test_output.txt"
    output = test_output_text(output_file.read_text(errors="replace")) if output_file.exists() else ""
    fields = {
        "problem_statement": clip(task.problem_statement, budget // 10),
        "outcome": describe_outcome(task, log_dir, agent_exit),
        "patch": clip(patch, budget // 10) if patch.strip() else "(the agent's patch was empty)",
        "test_output": clip(output, budget * 15 // 100) if output.strip() else "(no test output was recorded)",
    }
    trajectory_path = log_dir / "agent" / "out" / "trajectory.jsonl"
    raw_trajectory = trajectory_path.read_text(errors="replace") if trajectory_path.exists() else ""
    fields["files"] = genome_text(genome_dir, policy, raw_trajectory, budget * 35 // 100)
    left = budget - sum(len(v) for v in fields.values())
    fields["trajectory"] = render_trajectory(trajectory_path, max(left, budget // 10))
    return fields

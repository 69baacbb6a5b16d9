"""Self-modification: a parent becomes a child's diff, either by the parent agent working on its
own source in a sandbox (with a diagnosis as its issue) or, with no model, by a genetic-improvement
mutation of the genome."""

from __future__ import annotations

import ast
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from benchmarks.agent_run import COMMIT, GENOME_ROOTS, run_agent
from benchmarks.task_suite import AgentSetup
from dgm.gi_mutator import mutate_genome
from sandbox.container import Limits
from sandbox.llm_bridge import Bridge

# The parent's own source, as a git repository the agent can edit and diff; the agent that edits
# it runs from a separate copy, so a half-made edit cannot break the agent mid-work.
SELF_REPO_SETUP = f"""cp -a /work/parent /work/repo && cd /work/repo
git init -q && {COMMIT} parent
"""


PROMPT = Path(__file__).with_name("prompts") / "self_modify.md"


def _definitions(source: str) -> str:
    """The module's docstring's first line and its top-level classes, functions and constants."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return f"(does not parse: line {e.lineno}: {e.msg})"
    names = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()]
    paragraph = " ".join((ast.get_docstring(tree) or "").split("\n\n")[0].split())
    sentence = paragraph.split(". ")[0].rstrip(".")
    return " — ".join(part for part in (sentence, ", ".join(names)) if part)


def genome_map(genome_dir: Path) -> str:
    """One line per file of the genome: Python files with what they define, and the prompts."""
    lines = []
    for root in GENOME_ROOTS:
        for path in sorted((genome_dir / root).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            name = path.relative_to(genome_dir).as_posix()
            detail = _definitions(path.read_text(errors="replace")) if path.suffix == ".py" else ""
            lines.append(f"- `{name}`" + (f": {detail}" if detail else ""))
    return "\n".join(lines)


def self_modify_prompt(genome_dir: Path, diagnosis: str) -> str:
    return Template(PROMPT.read_text()).safe_substitute(genome_map=genome_map(genome_dir), diagnosis=diagnosis)


@dataclass(frozen=True)
class Modification:
    diff: str
    note: str  # how the modification ended, for the lineage


def self_modify(genome_dir: Path, issue: str, image: str, *, log_dir: Path, bridge: Bridge,
                env: Mapping[str, str], limits: Limits, agent_args: Sequence[str], run_id: str) -> Modification:
    parent = {f"/work/parent/{root}": genome_dir / root for root in GENOME_ROOTS}
    outcome = run_agent(genome_dir, image, self_modify_prompt(genome_dir, issue), AgentSetup(SELF_REPO_SETUP, parent),
                        log_dir=log_dir, env=env,
                        bridge=bridge, limits=limits, agent_args=agent_args, run_id=run_id)
    return Modification(outcome.patch, f"self-modification ended: {outcome.agent_exit} ({outcome.reason})")


def gi_modify(genome_dir: Path, rng: random.Random) -> Modification:
    mutation = mutate_genome(genome_dir, rng)
    return Modification(mutation.diff, mutation.description)

"""Self-modification: a parent becomes a child's diff, either by the parent agent working on its
own source in a sandbox (with a diagnosis as its issue) or, with no model, by a genetic-improvement
mutation of the genome."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Modification:
    diff: str
    note: str  # how the modification ended, for the lineage


def self_modify(genome_dir: Path, issue: str, image: str, *, log_dir: Path, bridge: Bridge,
                env: Mapping[str, str], limits: Limits, agent_args: Sequence[str], run_id: str) -> Modification:
    parent = {f"/work/parent/{root}": genome_dir / root for root in GENOME_ROOTS}
    outcome = run_agent(genome_dir, image, issue, AgentSetup(SELF_REPO_SETUP, parent), log_dir=log_dir, env=env,
                        bridge=bridge, limits=limits, agent_args=agent_args, run_id=run_id)
    return Modification(outcome.patch, f"self-modification ended: {outcome.agent_exit} ({outcome.reason})")


def gi_modify(genome_dir: Path, rng: random.Random) -> Modification:
    mutation = mutate_genome(genome_dir, rng)
    return Modification(mutation.diff, mutation.description)

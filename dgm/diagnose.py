"""Diagnose a parent: choose what to learn from, and turn it into one improvement written as an issue.

What is drawn (as in DGM): one of the parent's failed training tasks, never an infrastructure
failure (a harness crash, a provider failure, the grader's timeout); or, when their signal is
present, a special entry with a prompt of its own: many empty patches, a task that both passed
and failed across attempts, an attempt ended by the context window or the step limit. The
model sees what `dgm.diagnosis_context` gathers; an empty or unparsable answer is asked once more,
then the child fails with that reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from dgm.diagnosis_context import Attempt
from dgm.errors import DgmError
from dgm.eval_record import is_infrastructure_failure

PROMPTS = Path(__file__).with_name("prompts")
CONTEXT_PROMPT = "diagnose_context.md"  # the attempt's evidence and the answer's form, shared by all
PROMPT_OF = {"task": "diagnose.md", "empty_patches": "diagnose_empty_patches.md",
             "stochasticity": "diagnose_stochasticity.md", "context_limit": "diagnose_context_limit.md"}
SPECIAL_CHANCE = 0.25  # each special entry whose signal is present is drawn with this chance
EMPTY_PATCH_SHARE = 0.1  # empty patches on at least this share of tasks is a signal
# the agent ran out of one of its limits: context, steps, its task's dollars or its wall clock
LIMIT_EXITS = frozenset({"context_overflow", "step_limit", "cost_limit", "task_budget_exceeded", "deadline"})

ModelCall = Callable[[list[dict]], str]


class DiagnosisFailed(DgmError):
    """The diagnosis model gave no usable answer, twice."""


@dataclass(frozen=True)
class Target:
    kind: str  # a key of PROMPT_OF
    task_id: str  # the task the child is verified on
    key: str  # the evaluation whose logs are shown
    signal: str  # what made a special entry present, for its prompt ("" for a plain task)


@dataclass(frozen=True)
class Diagnosis:
    task_id: str
    summary: str  # one line, shown in the lineage tree
    issue: str  # what the parent works on when it modifies itself


def _specials(real: Sequence[Attempt], failed: Sequence[Attempt], rng) -> list[Target]:
    specials = []
    tasks = {a.task_id for a in real}
    empty_tasks = {a.task_id for a in real if a.empty_patch}
    empty_failed = [a for a in failed if a.empty_patch]
    if empty_failed and len(empty_tasks) >= EMPTY_PATCH_SHARE * len(tasks):
        a = rng.choice(empty_failed)
        specials.append(Target("empty_patches", a.task_id, a.key,
                               f"{len(empty_tasks)} of the {len(tasks)} tasks the agent attempted ended with an "
                               f"empty patch ({', '.join(sorted(empty_tasks)[:10])}). Below is one of them."))
    outcomes: dict[str, set[bool]] = {}
    for a in real:
        outcomes.setdefault(a.task_id, set()).add(a.resolved)
    flaky = [a for a in failed if outcomes[a.task_id] == {True, False}]
    if flaky:
        a = rng.choice(flaky)
        tries = [b for b in real if b.task_id == a.task_id]
        specials.append(Target("stochasticity", a.task_id, a.key,
                               f"On {a.task_id} the agent was run {len(tries)} times and resolved it "
                               f"{sum(b.resolved for b in tries)} time(s). Below is an attempt that failed."))
    limited = [a for a in failed if a.agent_exit in LIMIT_EXITS]
    if limited:
        a = rng.choice(limited)
        specials.append(Target("context_limit", a.task_id, a.key,
                               f"{len(limited)} failed attempt(s) ended on the agent's limits "
                               f"({', '.join(sorted({b.agent_exit for b in limited}))}). Below is one of them."))
    return specials


def pick_target(attempts: Sequence[Attempt], rng) -> Target | None:
    """What to diagnose among the parent's finished training attempts, or None if it failed none
    for a reason of its own."""
    real = sorted((a for a in attempts if not is_infrastructure_failure(a.agent_exit, a.reason)), key=lambda a: a.key)
    failed = [a for a in real if not a.resolved]
    if not failed:
        return None
    for special in _specials(real, failed, rng):
        if rng.random() < SPECIAL_CHANCE:
            return special
    a = rng.choice(failed)
    return Target("task", a.task_id, a.key, "")


def render_prompt(target: Target, context: dict[str, str]) -> str:
    template = (PROMPTS / PROMPT_OF[target.kind]).read_text() + "\n" + (PROMPTS / CONTEXT_PROMPT).read_text()
    return Template(template).safe_substitute(context, signal=target.signal)


def parse_diagnosis(task_id: str, answer: str) -> Diagnosis | None:
    """The answer's summary and issue, or None when it does not have that form or the issue is empty."""
    match = re.search(r"SUMMARY:\s*(.+?)\s*\n\s*ISSUE:\s*\n?(.*)", answer or "", re.S)
    if not match or not match.group(1).strip() or not match.group(2).strip():
        return None
    return Diagnosis(task_id, match.group(1).strip()[:200], match.group(2).strip())


def diagnose(call: ModelCall, target: Target, context: dict[str, str]) -> Diagnosis:
    """One improvement for `target`; an unusable answer is asked once more, then DiagnosisFailed."""
    messages = [{"role": "user", "content": render_prompt(target, context)}]
    answers = []
    for _ in range(2):
        answers.append(call(messages))
        found = parse_diagnosis(target.task_id, answers[-1])
        if found is not None:
            return found
    shape = "empty" if not answers[-1].strip() else f"without SUMMARY:/ISSUE: ({answers[-1].strip()[:80]!r})"
    raise DiagnosisFailed(f"the diagnosis of {target.task_id} ({target.kind}) was unusable twice: the last answer "
                          f"was {shape}; raise model.max_tokens_diagnose if the model spends it on reasoning")

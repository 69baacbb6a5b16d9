"""A scripted model for whole evolution runs, served over real HTTP by ScriptedLLMServer and
reached through litellm and the run's gateway like any provider.

It plays three parts, told apart by the request as a real model would see it:
- diagnosis (the diagnosis prompt): names a weakness and asks the agent to add a lesson to its
  system prompt; one chosen diagnosis asks for a file outside the genome instead;
- self-modification (an issue asking for that change, `APPEND path: line` or `CREATE path: line`,
  one or several): a bash call that makes them, then submit;
- task solving: an agent whose system prompt holds the lesson applies the right fix (the task's
  gold patch, which only this scripted model knows); without it the agent submits no change.

Diagnoses of one parent converge, as a real model's do: the lesson comes with one of three
endings, so a later child repeats an earlier sibling's change and is rejected as a near-duplicate
before it costs an evaluation.

So a diagnosed weakness is real: the child that fixes it resolves tasks its parent could not.
"""

from __future__ import annotations

import re
import shlex
import threading
from collections.abc import Iterable

from benchmarks.tasks import Task
from dgm.scripted_llm import ScriptedReply

LESSON = "Reproduce the failing test before editing"
ENDINGS = ["then read the traceback.", "then locate the faulty line.", "and keep edits minimal."]


def _bash(command: str) -> ScriptedReply:
    return ScriptedReply(tool_calls=[{"name": "bash", "arguments": {"command": command}}])


SUBMIT = ScriptedReply(tool_calls=[{"name": "submit", "arguments": {}}])


class ScriptedWorld:
    def __init__(self, tasks: Iterable[Task], outside_genome_at: int = 2) -> None:
        self.tasks = list(tasks)
        self.outside_genome_at = outside_genome_at  # which diagnosis (1-based) asks for an outside edit
        self.diagnoses = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict) -> ScriptedReply:
        messages = body["messages"]
        system = messages[0]["content"] or ""
        user = next(m["content"] for m in messages if m["role"] == "user")
        turn = sum(m["role"] == "assistant" for m in messages)
        if user.startswith("You are improving a coding agent"):
            return self._diagnose()
        issue = re.search(r"<issue>\n(.*)\n</issue>", user, re.S)
        text = issue.group(1) if issue else ""
        if turn > 0:
            return SUBMIT
        changes = re.findall(r"^(APPEND|CREATE) (\S+): (.+)$", text, re.M)
        if changes:  # every change the issue asks for, in one bash call
            return _bash(" && ".join(f"printf '%s\\n' {shlex.quote(line)} {'>>' if verb == 'APPEND' else '>'} {path}"
                                     for verb, path, line in changes))
        task = next((t for t in self.tasks if t.problem_statement.strip() == text.strip()), None)
        if task is None or LESSON not in system:
            return SUBMIT
        return _bash(f"git apply <<'PATCH'\n{task.patch}\nPATCH")

    def _diagnose(self) -> ScriptedReply:
        with self._lock:
            self.diagnoses += 1
            n = self.diagnoses
        if n == self.outside_genome_at:
            return ScriptedReply(content="SUMMARY: the agent lacks a pytest configuration\nISSUE:\n"
                                         "CREATE conftest.py: collect_ignore = []")
        ending = ENDINGS[n % len(ENDINGS)]
        return ScriptedReply(content=f"SUMMARY: the agent edits before reproducing the failure\nISSUE:\n"
                                     f"APPEND agent/prompts/system.md: {LESSON}, {ending}")


class Diagnoses(ScriptedWorld):
    """The scripted world with its diagnoses answered in the given order (the last one repeats)."""

    def __init__(self, tasks, answers: list[str]) -> None:
        super().__init__(tasks)
        self.answers = answers
        self.prompts: list[str] = []
        self.requests: list[dict] = []  # the diagnosis requests as the provider received them

    def __call__(self, body: dict) -> ScriptedReply:
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        if user.startswith("You are improving a coding agent"):
            self.prompts.append(user)
            self.requests.append(body)
        return super().__call__(body)

    def _diagnose(self) -> ScriptedReply:
        with self._lock:
            self.diagnoses += 1
            return ScriptedReply(content=self.answers[min(self.diagnoses, len(self.answers)) - 1])

"""The seed agent end to end on the host: `python -m agent solve` against a scripted model over
real HTTP, on a real git repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dgm.scripted_llm import ScriptedLLMServer, ScriptedReply

BUGGY = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"


@pytest.fixture()
def repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "calc.py").write_text(BUGGY)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"], cwd=repo, check=True)
    (tmp_path / "issue.md").write_text("calc.add(2, 3) returns -1 instead of 5.")
    return repo


def _solve(repo, server, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DGM_MODEL": "openai/scripted", "OPENAI_BASE_URL": server.url,
                   "OPENAI_API_KEY": "task-token", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "agent", "solve", "--repo", str(repo), "--issue", str(repo.parent / "issue.md"),
         "--patch-out", str(repo.parent / "out.patch"), "--trajectory", str(repo.parent / "traj.jsonl"), *extra],
        env=environment, capture_output=True, text=True, timeout=300,
    )


def _records(repo) -> list[dict]:
    return [json.loads(line) for line in (repo.parent / "traj.jsonl").read_text().splitlines()]


def call(name: str, **arguments) -> ScriptedReply:
    return ScriptedReply(tool_calls=[{"name": name, "arguments": arguments}])


def test_view_edit_with_wrong_indentation_check_and_submit(repo):
    script = [
        call("view", path="calc.py"),
        # eight spaces where the file has four: the editor must still place it
        call("str_replace", path="calc.py", old="def add(a, b):\n        return a - b\n",
             new="def add(a, b):\n        return a + b\n"),
        call("bash", command="python3 -c 'import calc; assert calc.add(2, 3) == 5; print(\"fixed\")'"),
        call("submit"),
    ]
    with ScriptedLLMServer(script) as server:
        result = _solve(repo, server)
    assert result.returncode == 0, result.stderr
    patch = (repo.parent / "out.patch").read_text()
    assert "-    return a - b\n+    return a + b\n" in patch
    assert patch.count("@@") == 2  # one hunk: sub() is untouched
    records = _records(repo)
    tools = [r for r in records if r["type"] == "tool"]
    assert [t["name"] for t in tools] == ["view", "str_replace", "bash"]
    assert "indentation match" in tools[1]["output"]
    assert "fixed" in tools[2]["output"]
    assert records[-1] == {**records[-1], "type": "exit", "reason": "submitted"}
    last_request = server.requests[-1]["messages"]
    assert last_request[-1]["role"] == "tool" and "exit code: 0" in last_request[-1]["content"]
    assert server.authorizations[0] == "Bearer task-token"


def test_the_step_limit_ends_the_run_and_keeps_the_patch(repo):
    script = [call("str_replace", path="calc.py", old="return a - b\n\n\ndef sub", new="return a + b\n\n\ndef sub"),
              call("bash", command="true"), call("bash", command="true")]
    with ScriptedLLMServer(script) as server:
        result = _solve(repo, server, "--max-steps", "2")
    assert result.returncode == 0
    assert _records(repo)[-1]["reason"] == "step_limit"
    assert "+    return a + b" in (repo.parent / "out.patch").read_text()


def test_the_text_action_format_runs_fenced_blocks(repo):
    script = [ScriptedReply(content="Fix it:\n```bash\nsed -i '2s/a - b/a + b/' calc.py\n```"),
              ScriptedReply(content="```bash\nsubmit\n```")]
    with ScriptedLLMServer(script) as server:
        result = _solve(repo, server, env={"DGM_ACTION_FORMAT": "text"})
    assert result.returncode == 0, result.stderr
    assert "tools" not in server.requests[0]
    assert "+    return a + b" in (repo.parent / "out.patch").read_text()
    assert _records(repo)[-1]["reason"] == "submitted"


def test_a_spent_budget_stops_the_agent_with_exit_code_3(repo):
    script = [call("str_replace", path="calc.py", old="return a - b\n\n\ndef sub", new="return a + b\n\n\ndef sub"),
              ScriptedReply(status=402, error="budget_exceeded: the run's model budget of $0.0000 is spent")]
    with ScriptedLLMServer(script) as server:
        result = _solve(repo, server)
    assert result.returncode == 3
    exit_record = _records(repo)[-1]
    assert exit_record["reason"] == "budget_exceeded" and "budget" in exit_record["message"]
    assert "+    return a + b" in (repo.parent / "out.patch").read_text()


def test_the_llm_policy_without_a_model_says_so(repo):
    env = {**{k: v for k, v in os.environ.items() if k != "DGM_MODEL"}, "DGM_POLICY": "llm"}
    result = subprocess.run([sys.executable, "-m", "agent", "solve", "--repo", str(repo),
                             "--issue", str(repo.parent / "issue.md")], env=env, capture_output=True, text=True)
    assert result.returncode == 2 and "no model configured" in result.stderr

"""Tool calls the model gets wrong are explained, and a parallel submit runs the rest first."""

import subprocess

from agent.actions import LINE_CAP, OUTPUT_CAP, Actions, call_problem
from agent.llm import Reply, ToolCall
from agent.loop import _tool_turn
from agent.trajectory import Trajectory
from tools.editor import VIEW_LIMIT


def test_a_call_without_its_required_argument_says_which_one():
    problem = call_problem("view", {"start": 3}, '{"start": 3}')
    assert "lacks path" in problem and "nothing was run" in problem


def test_arguments_that_are_not_json_are_shown_back():
    assert "not a JSON object" in call_problem("view", None, '{"pa')
    assert "no tool 'grep'" in call_problem("grep", {}, "{}")


def test_an_explicit_view_range_is_capped(tmp_path):
    (tmp_path / "big.py").write_text("".join(f"x{i} = {i}\n" for i in range(2_000)))
    shown = Actions(tmp_path).run("view", {"path": "big.py", "start": 1, "end": 1_500})
    assert shown.count("\n") <= VIEW_LIMIT + 2 and f"view with start={VIEW_LIMIT + 1}" in shown


def test_a_submit_in_a_batch_runs_the_other_calls_first(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    reply = Reply("", [ToolCall("1", "submit", {}, "{}"),
                       ToolCall("2", "create", {"path": "fix.py", "text": "x = 1\n"}, "")])
    turn, outcome = _tool_turn(reply, Actions(tmp_path), Trajectory(None))
    assert outcome == "submitted"
    assert (tmp_path / "fix.py").read_text() == "x = 1\n"
    assert [m["content"] for m in turn if m["role"] == "tool"] == ["created fix.py (1 lines)"]


def test_no_tool_shows_more_than_the_cap_of_a_minified_file(tmp_path):
    # one 1.6 MB line, as minified JavaScript has: shown whole it would fill any context window
    (tmp_path / "app.min.js").write_text("var a=1;" * 200_000 + "\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    actions = Actions(tmp_path)
    found = actions.run("search_text", {"pattern": "var a"})
    assert found.startswith("app.min.js:1: var a=1;") and len(found) < LINE_CAP + 100 and "characters cut" in found
    for name, arguments in [("view", {"path": "app.min.js"}), ("view", {"path": "app.min.js", "start": 1, "end": 1}),
                            ("bash", {"command": "cat app.min.js"})]:
        shown = actions.run(name, arguments)
        assert len(shown) < OUTPUT_CAP + 100 and "characters cut" in shown, name

"""The text action format: the one ```bash block of a reply."""

from agent.actions import fenced_commands


def test_a_closing_fence_is_never_taken_for_an_opening_one():
    reply = "The test prints:\n```\nFAILED x\n```\nSo I look at the code:\n```bash\nsed -n 1,20p calc.py\n```\n"
    assert fenced_commands(reply) == ["sed -n 1,20p calc.py\n"]


def test_blocks_in_other_languages_are_not_commands():
    reply = "```python\nprint(1)\n```\n```sh\nls\n```"
    assert fenced_commands(reply) == ["ls\n"]


def test_an_unclosed_block_is_no_command():
    assert fenced_commands("```bash\nls -la\n") == []

"""Generated tasks: a two-function bug holds two bugs, related tasks share a split, and the
upstream-fix tasks of a suite survive regeneration untouched."""

from __future__ import annotations

import json

from benchmarks.bug_injection import BugSource
from benchmarks.generate import file_diff, real_task_lines, split_heldout
from benchmarks.patches import changed_lines
from benchmarks.suite import load_suite
from benchmarks.tasks import Source, Task

MODULE = "def low(x):\n    return x < 3\n\n\ndef high(x):\n    return x > 7\n"


def test_a_two_function_bug_changes_both_functions():
    source = BugSource("m.py", MODULE)
    low = next(s for s in source.sites if s.function == "low" and s.kind == "comparison")
    high = next(s for s in source.sites if s.function == "high" and s.kind == "comparison")
    bug = source.bug(low, high)
    assert bug is not None and bug.difficulty == "two-function"
    assert bug.source == "def low(x):\n    return x <= 3\n\n\ndef high(x):\n    return x >= 7\n"
    assert changed_lines(file_diff("m.py", MODULE, bug.source)) == {("m.py", 2), ("m.py", 6)}


def _task(name: str, setup: str, path: str = "m.py") -> Task:
    fix = file_diff(path, setup, MODULE)
    return Task(name, "m", "base", "broken", fix, "", ("t::a",), (), Source("local", "/m", file_diff(path, MODULE, setup)))


def test_tasks_sharing_a_location_or_gold_patch_go_to_one_split():
    low = _task("low", MODULE.replace("x < 3", "x < 4"))  # line 2
    high = _task("high", MODULE.replace("x > 7", "x > 8"))  # line 6
    both = _task("both", MODULE.replace("x < 3", "x <= 3").replace("x > 7", "x >= 7"))  # lines 2 and 6
    same_gold = [_task(f"same-gold-{i}", MODULE.replace("x < 3", "x < 4"), "o.py") for i in range(2)]
    others = [_task(f"other-{i}", MODULE.replace("x < 3", "x < 4"), f"o{i}.py") for i in range(10)]
    held_out_together = 0
    for seed in range(100):
        split = {t.instance_id: t.split for t in split_heldout([low, high, both, *same_gold, *others], seed)}
        assert len({split["low"], split["high"], split["both"]}) == 1
        assert len({split[t.instance_id] for t in same_gold}) == 1
        assert sum(s == "heldout" for s in split.values()) == 3  # 20 % of 15
        held_out_together += split["both"] == "heldout"
    assert held_out_together


def test_regeneration_keeps_real_tasks_exactly(tmp_path):
    pyfix = load_suite("pyfix")
    (tmp_path / "suite.toml").write_text(pyfix.manifest.read_text())
    real = json.dumps({"instance_id": "up-1", "difficulty": "real", "x": [1,  2]})  # spacing kept as written
    (tmp_path / "tasks.jsonl").write_text(json.dumps({"instance_id": "gen-1", "difficulty": "one-token"}) + "\n" + real + "\n")
    assert real_task_lines(load_suite(str(tmp_path))) == [real]

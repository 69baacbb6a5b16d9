"""Steps, dollars and time: what stops the loop and the line the model sees."""

import time

from agent.budget import DEADLINE_MARGIN, Budget


def test_the_status_line_reports_steps_dollars_and_minutes_left():
    budget = Budget(max_steps=150, time_limit=600)
    budget.record(spent=1.8, cap=3.0)
    assert budget.status() == "[step 1 of 150, $1.20 of $3.00 left, 10 min left]"


def test_without_a_cap_the_line_reports_the_spend_only():
    budget = Budget(max_steps=5)
    budget.record(spent=0.25, cap=None)
    assert budget.status() == "[step 1 of 5, $0.25 spent]"


def test_each_limit_names_its_exit():
    steps = Budget(max_steps=1)
    steps.record(None, None)
    dollars = Budget()
    dollars.record(spent=3.0, cap=3.0)
    assert (steps.exhausted(), dollars.exhausted()) == ("step_limit", "cost_limit")
    assert Budget(time_limit=600, started=time.monotonic() - 590).exhausted() == "deadline"
    assert Budget(time_limit=10 * DEADLINE_MARGIN + 60).exhausted() is None

"""A model-free repair policy: reproduce the failing tests, localise the fault from tracebacks
and test coverage, then try small template edits at the most suspicious lines until one makes
the failing tests pass without breaking the tests beside them."""

from agent.repair.budget import Budget
from agent.repair.policy import repair

__all__ = ["Budget", "repair"]

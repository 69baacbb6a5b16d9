"""Shared fixtures. Docker is required: without it these fixtures raise, so the suite fails loudly."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    from sandbox.image import ensure_sandbox_image

    return ensure_sandbox_image()


@pytest.fixture(scope="session")
def pyfix():
    from benchmarks.suite import load_suite

    return load_suite("pyfix")


@pytest.fixture(scope="session")
def pyfix_image(pyfix) -> str:
    from benchmarks.suite import ensure_environment_image

    return ensure_environment_image(pyfix)


@pytest.fixture(scope="session")
def inflection_task(pyfix):
    """A small, fast bundled task with a one-token fix."""
    return next(t for t in pyfix.tasks() if t.repo == "inflection" and t.difficulty == "one-token")

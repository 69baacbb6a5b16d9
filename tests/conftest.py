"""Shared fixtures. Docker is required: without it these fixtures raise, so the suite fails loudly."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    from sandbox.image import ensure_sandbox_image

    return ensure_sandbox_image()

"""Test policy shared by every package in the workspace.

Service fixtures call `require_service`: on a laptop without the service the
test is skipped with a clear reason; under CI (``CI=true``) it fails, because a
skipped broker test in CI would hide a broken broker.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from taskiq.testing.services import IN_CI, require_service_at, service_answers

__all__ = ["IN_CI", "require_service", "require_service_at", "service_answers"]


@pytest.fixture
def require_service() -> Callable[[str, str, int], None]:
    """Fixture form of `require_service_at` for tests and package fixtures."""
    return require_service_at

"""Test policy shared by every package in the workspace.

Service fixtures call `require_service`: on a laptop without the service the
test is skipped with a clear reason; under CI (``CI=true``) it fails, because a
skipped broker test in CI would hide a broken broker.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service_at(name: str, host: str, port: int) -> None:
    """Skip (or, in CI, fail) the current test when ``name`` is not reachable."""
    if service_answers(host, port):
        return
    reason = (
        f"{name} is not reachable at {host}:{port}; start it with `scripts/services` "
        "(see README, Services)."
    )
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def require_service() -> Callable[[str, str, int], None]:
    """Fixture form of `require_service_at` for tests and package fixtures."""
    return require_service_at

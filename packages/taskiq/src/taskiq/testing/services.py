"""Whether a test's service is there: skip on a laptop without it, fail under CI.

A skipped broker test in CI would hide a broken broker, so with ``CI=true`` a
missing service fails the test instead. Importable from any package's tests
(the workspace's root conftest offers the same as the ``require_service`` fixture).
"""

from __future__ import annotations

import os
import socket

import pytest

#: True when the tests run under CI (``CI=1``, ``true`` or ``yes``).
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

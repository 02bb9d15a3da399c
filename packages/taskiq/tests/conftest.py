"""Fixtures shared by the core's tests."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from worker_harness import Harness


@pytest.fixture
async def harness(
    tmp_path: Path,
    require_service: Callable[[str, str, int], None],
) -> AsyncIterator[Harness]:
    """A started `Harness`: real ``taskiq worker`` processes over Redis, cleaned up after."""
    require_service("redis", "127.0.0.1", 6379)
    harness = Harness(tmp_path)
    await harness.start()
    yield harness
    await harness.close()

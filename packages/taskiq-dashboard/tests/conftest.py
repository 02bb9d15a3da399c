"""Fixtures for the dashboard tests: the shared Redis, a queue of one's own, the browser.

Browser tests need Debian's Chromium and ``npm ci`` in ``tests/browser`` (both done by
``scripts/services``); like a service, they skip on a laptop without them and fail in CI.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

CHROMIUM = Path("/usr/bin/chromium")
TESTS_DIR = Path(__file__).parent
# Helper modules (browser_driver, dashboard_test_app) are imported by name.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from browser_driver import BROWSER_DIR, REDIS_URL  # noqa: E402 - found through the path above
from taskiq.testing.services import IN_CI  # noqa: E402


@pytest.fixture
def redis_url(require_service: Callable[[str, str, int], None]) -> str:
    """The shared Redis (skips, or fails in CI, when it is not running)."""
    require_service("redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture
async def queue_name(redis_url: str) -> AsyncIterator[str]:
    """A unique queue (and key prefix); every key containing it is deleted afterwards."""
    name = f"tq-dash-{uuid.uuid4().hex[:12]}"
    yield name
    client = Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=f"*{name}*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def browser_tools() -> Path:
    """The driver script, once Chromium and playwright-core are installed."""
    missing = [
        what
        for what, present in [
            ("node", shutil.which("node") is not None),
            (str(CHROMIUM), CHROMIUM.exists()),
            ("tests/browser/node_modules", (BROWSER_DIR / "node_modules").is_dir()),
        ]
        if not present
    ]
    if missing:
        reason = f"browser tests need {', '.join(missing)}; run scripts/services"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    return BROWSER_DIR / "driver.mjs"

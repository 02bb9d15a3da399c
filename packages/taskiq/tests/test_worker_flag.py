"""Application code can tell at import time that it runs in a worker, as in Taskiq."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from worker_harness import Harness

pytestmark = pytest.mark.slow

FLAG_APP = """
import os

import redis

from redis_list_broker import REDIS_URL, RedisListBroker

PREFIX = os.environ["TASKIQ_TEST_PREFIX"]
broker = RedisListBroker(queue=PREFIX + ":queue")
redis.Redis.from_url(REDIS_URL).rpush(PREFIX + ":flag-at-import", str(broker.is_worker_process))
"""


async def test_is_worker_process_is_true_while_the_worker_imports_the_app(
    harness: Harness,
) -> None:
    (harness.app_dir / "flagapp.py").write_text(FLAG_APP)
    worker = harness.worker("flagapp:broker", "--workers", "1")
    assert await harness.wait_items("flag-at-import", 1) == ["True"]
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


def test_a_plain_broker_is_a_client_until_told_otherwise() -> None:
    from taskiq import InMemoryBroker

    broker = InMemoryBroker()
    assert (broker.is_worker_process, broker.is_scheduler_process) == (False, False)

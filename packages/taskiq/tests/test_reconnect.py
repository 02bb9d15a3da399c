"""The shared reconnect backoff: its delays, its one log line, and what it names."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncGenerator

import pytest
from taskiq.cli.worker.relisten import relisten
from taskiq.exceptions import BrokerConfigError, BrokerUnreachableError
from taskiq.reconnect import ReconnectBackoff, describe, target_of


def test_delays_double_from_one_second_to_thirty_without_jitter() -> None:
    backoff = ReconnectBackoff("Redis", "redis://h:6379/0", jitter=False)
    delays = [backoff.failed(ConnectionRefusedError()) for _ in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_jitter_stays_between_half_and_all_of_the_delay() -> None:
    backoff = ReconnectBackoff("Redis", "here", rng=random.Random(7))
    for attempt in range(1, 12):
        delay = backoff.failed(OSError("down"))
        full = min(2.0 ** (attempt - 1), 30.0)
        assert full / 2 <= delay <= full


def test_one_warning_per_attempt_and_the_traceback_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backoff = ReconnectBackoff("Redis", "redis://:***@127.0.0.1:6390/0", jitter=False)
    caplog.set_level(logging.INFO, logger="taskiq.reconnect")
    for _ in range(3):
        backoff.failed(_chained(ConnectionRefusedError(111, "Connection refused")))
    lines = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert [record.getMessage() for record in lines][2] == (
        "Cannot reach Redis at redis://:***@127.0.0.1:6390/0: connection refused; "
        "retrying in 4 s (attempt 3)"
    )
    assert all(record.exc_info is None for record in caplog.records)
    backoff.succeeded()
    assert caplog.records[-1].getMessage().endswith("after 3 failed attempt(s).")
    assert backoff.attempt == 0

    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="taskiq.reconnect")
    backoff.failed(OSError("reset"))
    assert any(record.exc_info for record in caplog.records)


def test_describe_names_the_innermost_cause() -> None:
    assert describe(_chained(ConnectionRefusedError(111, "x"))) == "connection refused"
    assert describe(OSError(104, "Connection reset by peer")) == "Connection reset by peer"
    assert describe(TimeoutError()) == "TimeoutError"


def test_a_broker_without_a_target_is_named_by_its_class() -> None:
    assert target_of(object()) == ("object", "its server")


async def test_relisten_reopens_a_failed_stream_and_stops_at_a_config_error() -> None:
    opened: list[int] = []

    async def flaky() -> AsyncGenerator[int, None]:
        opened.append(1)
        yield len(opened)
        if len(opened) < 3:
            raise BrokerUnreachableError(service="X", address="x", reason="gone")
        raise BrokerConfigError(reason="bad")

    backoff = ReconnectBackoff("X", "x", first=0.01, jitter=False)
    stream = relisten(flaky, backoff)
    assert [await stream.__anext__() for _ in range(3)] == [1, 2, 3]
    with pytest.raises(BrokerConfigError):
        await asyncio.wait_for(stream.__anext__(), 5)


def _chained(cause: BaseException) -> BrokerUnreachableError:
    try:
        raise BrokerUnreachableError(service="Redis", address="h", reason="r") from cause
    except BrokerUnreachableError as exc:
        return exc

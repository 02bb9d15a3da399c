"""One log line per task outcome (logger ``taskiq.tasks``), in process.

The worker-process versions of these checks are in taskiq-redis
tests/test_worker_logs.py; these pin the counting rules: a retried failure is
one WARNING and no ERROR, whatever ``no_result_on_retry`` says, and a retry
that cannot be sent leaves the failure's ERROR.
"""

from __future__ import annotations

import logging

import pytest
from taskiq import InMemoryBroker, SimpleRetryMiddleware, TaskiqMessage, TaskiqMiddleware


def task_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "taskiq.tasks"]


@pytest.mark.parametrize("no_result_on_retry", [True, False])
async def test_each_retried_attempt_is_one_warning_and_the_last_one_error(
    caplog: pytest.LogCaptureFixture,
    no_result_on_retry: bool,
) -> None:
    broker = InMemoryBroker().with_middlewares(
        SimpleRetryMiddleware(no_result_on_retry=no_result_on_retry),
    )

    @broker.task(retry_on_error=True, max_retries=3)
    async def flaky() -> None:
        raise ConnectionError("down")

    await broker.startup()
    await (await flaky.kiq()).wait_result(timeout=20)
    await broker.wait_all()
    await broker.shutdown()
    records = task_records(caplog)
    assert [record.levelno for record in records] == [logging.WARNING] * 2 + [logging.ERROR]
    assert "(attempt 1 of 3; retry now): ConnectionError: down" in records[0].getMessage()
    assert "(attempt 3 of 3; no retry left)" in records[2].getMessage()
    assert all(record.exc_info for record in records)


async def test_a_retry_that_cannot_be_sent_leaves_the_error_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class RefuseRetries(TaskiqMiddleware):
        def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
            if "_retries" in message.labels:
                raise RuntimeError("broker is down")
            return message

    broker = InMemoryBroker().with_middlewares(SimpleRetryMiddleware(), RefuseRetries())

    @broker.task(retry_on_error=True)
    async def fails() -> None:
        raise ValueError("original")

    await broker.startup()
    await (await fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    [record] = task_records(caplog)
    assert record.levelno == logging.ERROR
    assert "failed in" in record.getMessage()
    assert record.getMessage().endswith("ValueError: original")


async def test_success_is_logged_only_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    broker = InMemoryBroker()

    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b

    await broker.startup()
    with caplog.at_level(logging.INFO, logger="taskiq.tasks"):
        await (await add.kiq(1, 2)).wait_result(timeout=20)
    assert task_records(caplog) == []
    with caplog.at_level(logging.DEBUG, logger="taskiq.tasks"):
        sent = await add.kiq(2, 3)
        await sent.wait_result(timeout=20)
    await broker.shutdown()
    [record] = task_records(caplog)
    assert record.levelno == logging.DEBUG
    message = record.getMessage()
    assert message.startswith(f"Task {add.task_name}[{sent.task_id}] succeeded in ")
    assert message.endswith(" s: 5")

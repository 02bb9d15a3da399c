"""Programs written from Taskiq's ``taskiq-nats`` README and Taskiq's component pages.

Each test uses the public API as those documents show it (the same imports,
classes and keyword names: ``servers=[...]``, ``queue=``, ``durable=``,
``NATSKeyValueScheduleSource(broker)``) against the local NATS server, with a
subject, stream, consumer and bucket unique to the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from nats.js.api import ConsumerConfig, StreamConfig
from taskiq import ScheduledTask
from taskiq.scheduler import TaskiqScheduler
from taskiq_nats import (
    JetStreamBroker,
    NatsBroker,
    NATSKeyValueScheduleSource,
    NATSObjectStoreResultBackend,
    PullBasedJetStreamBroker,
    PushBasedJetStreamBroker,
)

NATS_URL = "nats://127.0.0.1:4222"
Names = Any  # the `names` fixture (conftest cannot be imported)
Worker = Callable[..., contextlib.AbstractAsyncContextManager[None]]
Eventually = Callable[..., Any]


@contextlib.asynccontextmanager
async def client(broker: Any) -> AsyncIterator[None]:
    await broker.startup()
    try:
        yield
    finally:
        await broker.shutdown()


async def test_readme_nats_broker_with_a_list_of_servers_and_a_queue(
    names: Names, run_worker: Worker, eventually: Eventually
) -> None:
    broker = NatsBroker([NATS_URL, NATS_URL], queue=f"q_{names.suffix}", subject=names.subject())
    ran: list[str] = []

    @broker.task
    async def my_lovely_task() -> None:
        ran.append("I love taskiq")

    async with run_worker(broker):
        sender = NatsBroker([NATS_URL], queue=f"q_{names.suffix}", subject=names.subject())
        sender.register_task(my_lovely_task.original_func, my_lovely_task.task_name)
        async with client(sender):
            await sender.find_task(my_lovely_task.task_name).kiq()  # type: ignore[union-attr]
            await eventually(lambda: ran == ["I love taskiq"])


async def test_readme_push_based_jetstream_broker(
    names: Names, run_worker: Worker, eventually: Eventually
) -> None:
    broker = PushBasedJetStreamBroker(
        servers=[NATS_URL],
        queue=f"awesome_queue_{names.suffix}",
        subject=names.subject(),
        stream_name=names.stream(),
    )
    ran: list[int] = []

    @broker.task
    async def my_lovely_task(value: int) -> None:
        ran.append(value)

    async with run_worker(broker):
        await my_lovely_task.kiq(1)
        await eventually(lambda: ran == [1])


async def test_readme_pull_based_jetstream_broker_with_object_store_results(
    names: Names, run_worker: Worker
) -> None:
    broker = PullBasedJetStreamBroker(
        servers=[NATS_URL],
        durable=f"awesome_durable_{names.suffix}",
        subject=names.subject(),
        stream_name=names.stream(),
        pull_consume_batch=5,
        pull_consume_timeout=0.5,
    ).with_result_backend(
        NATSObjectStoreResultBackend(
            servers=NATS_URL, keep_results=True, bucket_name=names.bucket("results")
        )
    )

    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b

    async with run_worker(broker):
        task = await add.kiq(1, 2)
        result = await task.wait_result(timeout=20)
        assert result.return_value == 3
        again = await broker.result_backend.get_result(task.task_id, with_logs=False)
        assert again.return_value == 3


async def test_stream_and_consumer_config_objects_are_honoured(
    names: Names, run_worker: Worker, eventually: Eventually
) -> None:
    stream = names.stream("configured")
    durable = f"configured_{names.suffix}"
    broker = JetStreamBroker(
        NATS_URL,
        subject=names.subject(),
        stream_config=StreamConfig(name=stream, subjects=[names.subject()]),
        consumer_config=ConsumerConfig(durable_name=durable),
        durable=durable,
    )
    ran: list[str] = []

    @broker.task
    async def job() -> None:
        ran.append("done")

    async with run_worker(broker):
        await job.kiq()
        await eventually(lambda: ran == ["done"])
    assert broker.stream_name == stream


async def test_schedule_source_from_urls_add_get_delete(names: Names) -> None:
    source = NATSKeyValueScheduleSource(
        NATS_URL, bucket_name=names.bucket("schedules"), prefix="schedule"
    )
    await source.startup()
    try:
        schedule = ScheduledTask(
            task_name="tasks:report",
            labels={},
            args=[1],
            kwargs={},
            schedule_id=uuid.uuid4().hex,
            cron="*/5 * * * *",
        )
        await source.add_schedule(schedule)
        assert [s.schedule_id for s in await source.get_schedules()] == [schedule.schedule_id]
        await source.delete_schedule(schedule.schedule_id)
        assert await source.get_schedules() == []
    finally:
        await source.shutdown()


async def test_taskiq_docs_schedule_source_built_from_the_broker(
    names: Names, eventually: Eventually
) -> None:
    broker = JetStreamBroker(
        [NATS_URL], subject=names.subject(), stream_name=names.stream(), queue=names.suffix
    )
    source = NATSKeyValueScheduleSource(broker, bucket_name=names.bucket("from_broker"))
    scheduler = TaskiqScheduler(broker=broker, sources=[source])
    assert source.servers == [NATS_URL]
    await source.startup()
    try:
        await source.add_schedule(
            ScheduledTask(
                task_name="tasks:ping",
                labels={},
                args=[],
                kwargs={},
                schedule_id="ping",
                cron="* * * * *",
            )
        )
        assert [s.task_name for s in await source.get_schedules()] == ["tasks:ping"]
    finally:
        await source.shutdown()
    assert scheduler.sources == [source]


def test_a_non_nats_broker_is_refused_by_the_schedule_source() -> None:
    from taskiq import InMemoryBroker

    with pytest.raises(TypeError, match="NATS server URLs or a taskiq_nats broker"):
        NATSKeyValueScheduleSource(InMemoryBroker())


async def test_readme_main_program_shape_runs_to_completion(names: Names) -> None:
    broker = NatsBroker([NATS_URL], queue=f"q_{names.suffix}", subject=names.subject())

    @broker.task
    async def my_lovely_task() -> None:
        return None

    async def main() -> None:
        await broker.startup()
        await my_lovely_task.kiq()
        await broker.shutdown()

    await asyncio.wait_for(main(), 20)

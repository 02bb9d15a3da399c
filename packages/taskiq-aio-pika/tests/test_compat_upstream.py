"""Programs written from Taskiq's ``taskiq-aio-pika`` README and getting-started guide.

Each test uses the public API the way those documents show it (the same imports,
classes, keyword names and labels) against the local RabbitMQ, on names unique
to the test. Workers run in-process with `taskiq.api.run_receiver_task`, so a
task can record what it ran in a plain list.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

import pytest
from aio_pika.abc import ExchangeType
from pika_helpers import RABBIT_URL, Names, queue_stats, queues_named, wait_for
from taskiq import AsyncBroker
from taskiq.api import run_receiver_task
from taskiq_aio_pika import AioPikaBroker, Exchange, Queue, QueueType, TopologyError


@contextlib.asynccontextmanager
async def started(broker: AioPikaBroker) -> AsyncIterator[AioPikaBroker]:
    await broker.startup()
    try:
        yield broker
    finally:
        await broker.shutdown()


@contextlib.asynccontextmanager
async def worker(broker: AsyncBroker) -> AsyncIterator[None]:
    """Run ``broker``'s tasks in this loop while the block runs."""
    running = asyncio.create_task(run_receiver_task(broker))
    try:
        yield
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def test_broker_module_path_is_importable() -> None:
    from taskiq_aio_pika.broker import AioPikaBroker as FromModule

    assert FromModule is AioPikaBroker


async def test_getting_started_program_returns_its_result_through_redis(
    names: Names, require_service: Callable[[str, str, int], None]
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    from taskiq_redis import RedisAsyncResultBackend

    broker = AioPikaBroker(
        RABBIT_URL,
        result_backend=RedisAsyncResultBackend("redis://127.0.0.1:6379", keep_results=False),
        exchange_name=names.exchange,
        queue_name=names.queue,
    )

    @broker.task
    async def add_one(value: int) -> int:
        return value + 1

    async with started(broker), worker(broker):
        task = await add_one.kiq(1)
        result = await task.wait_result(timeout=20)
    assert not result.is_err
    assert result.return_value == 2
    assert result.execution_time >= 0


async def test_readme_custom_exchange_and_queue_are_declared_as_given(names: Names) -> None:
    broker = AioPikaBroker(
        RABBIT_URL,
        exchange=Exchange(
            name=names.exchange,
            type=ExchangeType.TOPIC,
            declare=True,
            durable=True,
            auto_delete=False,
        ),
        task_queues=[
            Queue(
                name=names.queue,
                type=QueueType.CLASSIC,
                declare=True,
                durable=True,
                max_priority=10,
                routing_key=names.queue,
            )
        ],
    )
    ran: list[str] = []

    @broker.task
    async def hello(who: str) -> None:
        ran.append(who)

    async with started(broker), worker(broker):
        stats = queue_stats(names.queue)
        assert stats["durable"] is True
        assert stats["arguments"]["x-max-priority"] == 10
        assert "taskiq" not in broker.queues, "task_queues replaces the default queue"
        await hello.kiq("world")
        await wait_for(lambda: ran == ["world"], "the task sent through the custom exchange")


async def test_readme_delays_with_a_delay_queue_and_labels(names: Names) -> None:
    broker = AioPikaBroker(
        RABBIT_URL,
        exchange_name=names.exchange,
        queue_name=names.queue,
        delay_queue=Queue(name=names("delay_queue")),
    )
    ran: list[str] = []

    @broker.task(delay=2)
    async def delayed_task(tag: str) -> int:
        ran.append(tag)
        return 1

    async with started(broker), worker(broker):
        await delayed_task.kiq("decorator delay")
        await delayed_task.kicker().with_labels(delay=None).kiq("label removed")
        await wait_for(lambda: len(ran) == 2, "both tasks")
        await delayed_task.kicker().with_labels(delay=1).kiq("kicker delay")
        await wait_for(lambda: len(ran) == 3, "the task delayed by the kicker")
    assert ran == ["label removed", "decorator delay", "kicker delay"]
    assert queues_named(names("delay_queue")), "delay queues are named after delay_queue"


async def test_readme_priorities_from_decorator_and_kicker(names: Names) -> None:
    broker = AioPikaBroker(
        RABBIT_URL,
        exchange_name=names.exchange,
        task_queues=[Queue(name=names.queue, max_priority=10)],
    )

    @broker.task(priority=2)
    async def prio_task(tag: str) -> int:
        return 1

    async with started(broker):
        await prio_task.kicker().with_labels(priority=None).kiq("zero")
        await prio_task.kiq("two")
        await prio_task.kicker().with_labels(priority=4).kiq("four")
        await wait_for(
            lambda: queue_stats(names.queue).get("messages_ready") == 3, "3 queued tasks"
        )
        async with aclosing(broker.listen()) as deliveries:
            order = []
            async for delivery in deliveries:
                assert not isinstance(delivery, bytes)
                order.append(broker.formatter.loads(delivery.data).args[0])
                await delivery.ack()
                if len(order) == 3:
                    break
    assert order == ["four", "two", "zero"]


async def test_custom_routing_and_priority_label_names(names: Names) -> None:
    fast, slow = Queue(name=names("fast"), max_priority=5), Queue(name=names("slow"))
    broker = AioPikaBroker(
        RABBIT_URL,
        exchange=Exchange(name=names.exchange),
        task_queues=[slow, fast],
        label_for_routing="lane",
        label_for_priority="urgency",
    )

    @broker.task
    async def job() -> None:
        return None

    async with started(broker):
        await job.kicker().with_labels(lane=fast.name, urgency=1).kiq()
        await job.kicker().with_labels(lane=fast.name, urgency=3).kiq()
        await wait_for(
            lambda: queue_stats(fast.name).get("messages_ready") == 2, "two tasks in 'fast'"
        )
        assert queue_stats(slow.name)["messages_ready"] == 0
        broker.with_listen_queues(fast.name)
        async with aclosing(broker.listen()) as deliveries:
            first = await anext(deliveries)
            assert not isinstance(first, bytes)
            assert broker.formatter.loads(first.data).labels["urgency"] in (3, "3")
            await first.ack()


async def test_multiqueue_example_workers_per_queue(names: Names) -> None:
    queue_1 = Queue(name=names("queue1"), type=QueueType.CLASSIC, durable=False)
    queue_2 = Queue(name=names("queue2"), type=QueueType.CLASSIC, durable=False)
    ran: list[str] = []

    def make_broker() -> AioPikaBroker:
        broker = AioPikaBroker(
            RABBIT_URL,
            exchange=Exchange(name=names.exchange, type=ExchangeType.TOPIC),
            delay_queue=Queue(name=names("delay"), routing_key=queue_1.name),
        )

        @broker.task(task_name="add_one")
        async def add_one(value: int) -> int:
            ran.append(f"{value}")
            return value + 1

        return broker

    for_queue_1 = make_broker().with_queue(queue_1)
    for_queue_2 = make_broker().with_queue(queue_2)
    assert (for_queue_1.listen_queues, for_queue_2.listen_queues) == (
        [queue_1.name],
        [queue_2.name],
    )
    client = make_broker().with_queues(queue_1, queue_2)
    add_one = client.find_task("add_one")
    assert add_one is not None
    async with started(client):
        await add_one.kicker().with_labels(queue_name=queue_2.name).kiq(2)
        await wait_for(
            lambda: queue_stats(queue_2.name).get("messages_ready") == 1, "the task in queue2"
        )
        assert queue_stats(queue_1.name)["messages_ready"] == 0
        assert queue_stats(queue_1.name)["durable"] is False
        async with started(for_queue_2), worker(for_queue_2):
            await wait_for(lambda: ran == ["2"], "queue2's worker to run the task")


async def test_a_queue_not_to_declare_must_exist(names: Names) -> None:
    broker = AioPikaBroker(
        RABBIT_URL,
        exchange_name=names.exchange,
        task_queues=[Queue(name=names("missing"), declare=False)],
    )
    with pytest.raises(TopologyError, match=names("missing")):
        await broker.startup()


def test_stream_queues_are_refused_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"QueueType\.CLASSIC or QueueType\.QUORUM"):
        Queue(name="events", type=QueueType.STREAM)


def test_readme_placeholder_arguments_mean_the_defaults() -> None:
    broker = AioPikaBroker(..., delay_queue=Queue(name="taskiq.delay_queue"))  # type: ignore[arg-type]
    assert broker.url == "amqp://guest:guest@localhost:5672/"
    assert broker.delays.queue_prefix == "taskiq.delay_queue"


async def test_an_exchange_not_to_declare_must_exist(names: Names) -> None:
    broker = AioPikaBroker(
        RABBIT_URL,
        exchange=Exchange(name=names("absent"), declare=False),
        task_queues=[Queue(name=names.queue)],
    )
    with pytest.raises(TopologyError, match=names("absent")):
        await broker.startup()
    assert not broker.is_connected

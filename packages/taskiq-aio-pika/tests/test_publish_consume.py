"""Publishing with confirms, consuming with prefetch, acking and rejecting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import aio_pika
import pytest
from pika_helpers import DEADLINE, BrokerFactory, Names, has_dead_letters, queue_stats, wait_for
from taskiq import AckableMessage, BrokerMessage, InmemoryResultBackend, TaskiqResult
from taskiq.exceptions import SendTaskError
from taskiq.receiver import Receiver
from taskiq_aio_pika import AioPikaBroker, Queue


def message(task_id: str, body: bytes = b"{}", **labels: object) -> BrokerMessage:
    return BrokerMessage(task_id=task_id, task_name="tests:task", message=body, labels=labels)


Deliveries = AsyncIterator[bytes | AckableMessage]


async def take(deliveries: Deliveries, count: int) -> list[AckableMessage]:
    """The next ``count`` deliveries, with a deadline so a lost message fails the test."""
    taken = []
    while len(taken) < count:
        delivery = await asyncio.wait_for(anext(deliveries), DEADLINE)
        assert isinstance(delivery, AckableMessage)
        taken.append(delivery)
    return taken


async def test_kick_publishes_a_persistent_message_to_a_durable_queue(
    make_broker: BrokerFactory, names: Names, rabbit: str
) -> None:
    broker = await make_broker()
    await broker.kick(message("id-1", b"payload"))

    stats = queue_stats(names.queue)
    assert stats["durable"] is True
    assert stats["messages_ready"] == 1
    connection = await aio_pika.connect(rabbit)
    async with connection:
        queue = await (await connection.channel()).get_queue(names.queue)
        got = await queue.get(no_ack=True)
    assert got.body == b"payload"
    assert got.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert (got.message_id, got.type) == ("id-1", "tests:task")


async def test_unroutable_kick_raises_send_task_error(make_broker: BrokerFactory) -> None:
    broker = await make_broker(exchange_type=aio_pika.ExchangeType.DIRECT, routing_key="tasks")

    with pytest.raises(SendTaskError, match="NO_ROUTE"):
        await broker.kick(message("a", queue_name="no-such-queue-anywhere"))
    with pytest.raises(SendTaskError, match="NO_ROUTE"):
        await broker.kick(message("b", routing_key="nobody-binds-this"))


async def test_kick_before_startup_says_to_start_the_broker(make_broker: BrokerFactory) -> None:
    broker = await make_broker(start=False)
    with pytest.raises(SendTaskError, match="startup"):
        await broker.kick(message("x"))


async def test_worker_prefetch_is_bounded_by_qos(make_broker: BrokerFactory, names: Names) -> None:
    broker = await make_broker(qos=2)
    for number in range(5):
        await broker.kick(message(str(number)))

    async with aclosing(broker.listen()) as deliveries:
        first = await take(deliveries, 2)
        await wait_for(
            lambda: queue_stats(names.queue)["messages_unacknowledged"] == 2,
            "two unacknowledged deliveries",
        )
        assert queue_stats(names.queue)["messages_ready"] == 3
        await first[0].ack()
        third = await take(deliveries, 1)
        assert [d.data for d in first + third] == [b"{}"] * 3
        await wait_for(lambda: queue_stats(names.queue)["messages_ready"] == 2, "one more taken")


async def test_ack_removes_and_unacked_returns_to_the_queue(
    make_broker: BrokerFactory, names: Names
) -> None:
    producer = await make_broker()
    await producer.kick(message("acked", b"1"))
    await producer.kick(message("unacked", b"2"))
    consumer = await make_broker(connection_name=f"{names.prefix}-consumer")
    async with aclosing(consumer.listen()) as deliveries:
        acked, unacked = await take(deliveries, 2)
        await acked.ack()
    await consumer.shutdown()  # closing the connection returns the unacked delivery

    async with aclosing(producer.listen()) as deliveries:
        (again,) = await take(deliveries, 1)
    assert (again.data, unacked.data) == (b"2", b"2")


async def test_reject_dead_letters_and_replay_sends_it_back(
    make_broker: BrokerFactory, names: Names
) -> None:
    broker: AioPikaBroker = await make_broker()
    await broker.kick(message("doomed", b"bad"))
    async with aclosing(broker.listen()) as deliveries:
        (delivery,) = await take(deliveries, 1)
        assert delivery.reject is not None
        await delivery.reject()
        await wait_for(
            lambda: queue_stats(names("q.dead_letter")).get("messages_ready") == 1,
            "the rejected message in the dead-letter queue",
        )

        assert await broker.dead_letter_count() == 1
        (letter,) = await broker.peek_dead_letters()
        assert (letter.task_id, letter.task_name, letter.message) == (
            "doomed",
            "tests:task",
            b"bad",
        )
        assert (letter.queue, letter.reason) == (names.queue, "rejected")
        assert await broker.dead_letter_count() == 1, "peeking must not remove"

        replayed = await broker.replay_dead_letters()
        assert [r.task_id for r in replayed] == ["doomed"]
        (back,) = await take(deliveries, 1)
        assert back.data == b"bad"
        await back.ack()
    assert await broker.dead_letter_count() == 0


async def test_purge_dead_letters(make_broker: BrokerFactory) -> None:
    broker = await make_broker()
    for number in range(3):
        await broker.kick(message(str(number)))
    async with aclosing(broker.listen()) as deliveries:
        for delivery in await take(deliveries, 3):
            assert delivery.reject is not None
            await delivery.reject()
    await wait_for(lambda: has_dead_letters(broker, 3), "three dead letters")
    assert await broker.purge_dead_letters() == 3
    assert await broker.dead_letter_count() == 0


async def test_replay_of_a_hand_placed_dead_letter_goes_to_the_task_queue(
    make_broker: BrokerFactory, names: Names, rabbit: str
) -> None:
    broker = await make_broker()
    connection = await aio_pika.connect(rabbit)
    async with connection:
        channel = await connection.channel()
        stray = aio_pika.Message(b"stray", message_id="stray")
        await channel.default_exchange.publish(stray, routing_key=names("q.dead_letter"))

    (letter,) = await broker.replay_dead_letters()
    assert (letter.task_id, letter.queue) == ("stray", "")
    assert await broker.dead_letter_count() == 0
    assert queue_stats(names.queue)["messages_ready"] == 1


async def test_nacked_publish_raises_send_task_error(
    make_broker: BrokerFactory, names: Names
) -> None:
    full = Queue(names("tiny"), arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
    broker = await make_broker(queues=[full])
    await broker.kick(message("fits", queue_name=full.name))

    with pytest.raises(SendTaskError, match="nack"):
        await broker.kick(message("overflows", queue_name=full.name))
    assert queue_stats(full.name)["messages_ready"] == 1


async def test_stopping_a_worker_returns_its_unstarted_deliveries(
    make_broker: BrokerFactory, names: Names
) -> None:
    broker = await make_broker(qos=5)
    started = asyncio.Event()
    release = asyncio.Event()

    @broker.task(task_name="slow")
    async def slow() -> None:
        started.set()
        await release.wait()

    for _ in range(4):
        await slow.kiq()
    finish = asyncio.Event()
    worker = asyncio.create_task(Receiver(broker, max_async_tasks=1).listen(finish))
    await asyncio.wait_for(started.wait(), DEADLINE)
    await wait_for(
        lambda: queue_stats(names.queue)["messages_unacknowledged"] == 4, "all four prefetched"
    )
    finish.set()  # stop fetching; the running task may finish
    release.set()
    await asyncio.wait_for(worker, DEADLINE)

    stats = queue_stats(names.queue)
    assert (stats["messages_ready"], stats["messages_unacknowledged"]) == (3, 0)


async def test_a_delivery_whose_result_cannot_be_stored_comes_back_at_once(
    make_broker: BrokerFactory,
) -> None:
    """The receiver nacks it; RabbitMQ requeues it to the same, still running worker."""

    class FailsOnce(InmemoryResultBackend):
        def __init__(self) -> None:
            super().__init__()
            self.failures = 0

        async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
            if self.failures == 0:
                self.failures += 1
                raise ConnectionError("result store is down")
            await super().set_result(task_id, result)

    broker = await make_broker(qos=5)
    broker.with_result_backend(FailsOnce())
    runs: list[int] = []

    @broker.task(task_name="counted")
    async def counted() -> int:
        runs.append(1)
        return len(runs)

    handle = await counted.kiq()
    finish = asyncio.Event()
    worker = asyncio.create_task(Receiver(broker).listen(finish))
    result = await handle.wait_result(timeout=DEADLINE)
    finish.set()
    await asyncio.wait_for(worker, DEADLINE)
    assert (len(runs), result.return_value) == (2, 2)

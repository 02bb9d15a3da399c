"""Several queues, direct and topic exchanges, routing labels, quorum queues."""

from __future__ import annotations

from contextlib import aclosing

import pytest
from pika_helpers import BrokerFactory, Names, has_dead_letters, queue_stats, wait_for
from taskiq_aio_pika import ExchangeType, Queue, QueueType
from test_publish_consume import message, take


async def test_queue_name_label_sends_to_that_queue_only(
    make_broker: BrokerFactory, names: Names
) -> None:
    broker = await make_broker(queues=[Queue(names("reports"))])
    await broker.kick(message("r", b"report", queue_name=names("reports")))

    assert queue_stats(names("reports"))["messages_ready"] == 1
    assert queue_stats(names.queue)["messages_ready"] == 0, "the '#' queue must not get a copy"


async def test_worker_listens_to_a_chosen_subset_of_queues(
    make_broker: BrokerFactory, names: Names
) -> None:
    queues = [Queue(names("fast")), Queue(names("slow"))]
    client = await make_broker(queues=queues, exchange_type=ExchangeType.DIRECT, routing_key="main")
    for target in ("fast", "slow", "fast"):
        await client.kick(message(target, target.encode(), routing_key=names(target)))
    await client.kick(message("main", b"main"))

    worker = await make_broker(
        queues=queues,
        exchange_type=ExchangeType.DIRECT,
        routing_key="main",
        listen_queues=[names("fast")],
        connection_name=f"{names.prefix}-worker",
    )
    async with aclosing(worker.listen()) as deliveries:
        received = await take(deliveries, 2)
        for delivery in received:
            await delivery.ack()
    assert [d.data for d in received] == [b"fast", b"fast"]
    assert queue_stats(names("slow"))["messages_ready"] == 1
    assert queue_stats(names.queue)["messages_ready"] == 1


async def test_topic_patterns_route_by_routing_key_label(
    make_broker: BrokerFactory, names: Names
) -> None:
    broker = await make_broker(
        routing_key="tasks.#",
        queues=[Queue(names("daily"), routing_key="reports.daily.*")],
    )
    await broker.kick(message("1", routing_key="reports.daily.sales"))
    await broker.kick(message("2", routing_key="tasks.cleanup"))
    await broker.kick(message("3", routing_key="tasks.reports.daily.x"))

    assert queue_stats(names("daily"))["messages_ready"] == 1
    assert queue_stats(names.queue)["messages_ready"] == 2


def test_listening_to_an_undeclared_queue_is_refused() -> None:
    from taskiq_aio_pika import AioPikaBroker

    with pytest.raises(ValueError, match="known queues"):
        AioPikaBroker(queue_name="a", listen_queues=["b"])


async def test_quorum_queue_consumes_and_dead_letters(
    make_broker: BrokerFactory, names: Names
) -> None:
    broker = await make_broker(queue_type=QueueType.QUORUM)
    stats = queue_stats(names.queue)
    assert (stats["type"], stats["arguments"]["x-queue-type"]) == ("quorum", "quorum")
    assert queue_stats(names("q.dead_letter"))["type"] == "quorum"

    await broker.kick(message("keep", b"keep"))
    await broker.kick(message("drop", b"drop"))
    async with aclosing(broker.listen()) as deliveries:
        keep, drop = await take(deliveries, 2)
        await keep.ack()
        assert drop.reject is not None
        await drop.reject()
    await wait_for(lambda: has_dead_letters(broker, 1), "the rejected message in the quorum DLQ")
    (letter,) = await broker.peek_dead_letters()
    assert letter.task_id == "drop"


async def test_a_broker_that_declares_nothing_uses_the_existing_topology(
    make_broker: BrokerFactory, names: Names
) -> None:
    await make_broker()  # provisions exchanges and queues
    user = await make_broker(
        declare_exchange=False,
        declare_queues=False,
        connection_name=f"{names.prefix}-user",
    )
    await user.kick(message("now", b"now"))
    await user.kick(message("later", b"later", delay=0.2))
    async with aclosing(user.listen()) as deliveries:
        received = await take(deliveries, 2)
        for delivery in received:
            await delivery.ack()
    assert [d.data for d in received] == [b"now", b"later"]


async def test_quorum_delivery_limit_dead_letters_a_message_that_keeps_crashing_workers(
    make_broker: BrokerFactory, names: Names
) -> None:
    poison = Queue(
        names("poison"),
        queue_type=QueueType.QUORUM,
        arguments={"x-delivery-limit": 1},
    )
    client = await make_broker(queues=[poison])
    await client.kick(message("crasher", b"boom", queue_name=poison.name))

    for attempt in range(2):  # each "worker" dies holding the message
        worker = await make_broker(
            queues=[poison],
            listen_queues=[poison.name],
            connection_name=f"{names.prefix}-worker-{attempt}",
        )
        async with aclosing(worker.listen()) as deliveries:
            (delivery,) = await take(deliveries, 1)
            assert delivery.data == b"boom"
        await worker.shutdown()

    await wait_for(
        lambda: has_dead_letters(client, 1, queue_name=poison.name), "the poison message"
    )
    (letter,) = await client.peek_dead_letters(queue_name=poison.name)
    assert (letter.task_id, letter.reason) == ("crasher", "failed 2 times")

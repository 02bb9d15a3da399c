"""The ``delay`` label (TTL queues, or the plugin when asked) and the ``priority`` label."""

from __future__ import annotations

import time
from contextlib import aclosing

import aio_pika
import pytest
from pika_helpers import (
    RABBIT_URL,
    BrokerFactory,
    Names,
    queue_stats,
    queues_named,
    queues_stats,
    wait_for,
)
from taskiq import BrokerMessage
from taskiq.exceptions import SendTaskError
from taskiq_aio_pika import TopologyError
from test_publish_consume import message, take


async def test_delay_label_holds_the_message_back_without_any_plugin(
    make_broker: BrokerFactory,
) -> None:
    broker = await make_broker()
    sent = time.monotonic()
    await broker.kick(message("late", b"late", delay=1.5))
    await broker.kick(message("now", b"now"))

    async with aclosing(broker.listen()) as deliveries:
        (first,) = await take(deliveries, 1)
        first_at = time.monotonic() - sent
        (second,) = await take(deliveries, 1)
        second_at = time.monotonic() - sent
        await first.ack()
        await second.ack()
    assert (first.data, second.data) == (b"now", b"late")
    assert first_at < 1.5 <= second_at + 0.05  # never earlier than asked (5 ms rounding)


async def test_delay_accepts_text_and_works_with_the_queue_name_label(
    make_broker: BrokerFactory, names: Names
) -> None:
    broker = await make_broker()
    await broker.kick(message("d", b"direct-delayed", delay="0.3", queue_name=names.queue))
    async with aclosing(broker.listen()) as deliveries:
        (delivery,) = await take(deliveries, 1)
        await delivery.ack()
    assert delivery.data == b"direct-delayed"


async def test_delay_queues_expire_so_their_number_stays_bounded(
    make_broker: BrokerFactory, names: Names
) -> None:
    broker = await make_broker(delay_queue_expires_ms=6_000)
    await broker.kick(message("a", delay=0.2))
    await broker.kick(message("b", delay=0.2))  # same delay: same queue
    await broker.kick(message("c", delay=0.4))

    delay_queues = queues_stats(names("q.delay"))
    assert sorted(delay_queues) == [names("q.delay.200"), names("q.delay.400")]
    arguments = delay_queues[names("q.delay.200")]["arguments"]
    assert (arguments["x-message-ttl"], arguments["x-expires"]) == (200, 6_200)
    await wait_for(lambda: not queues_named(names("q.delay")), "unused delay queues to expire")
    assert queue_stats(names.queue)["messages_ready"] == 3, "expiry must not lose messages"
    await broker.kick(message("d", delay=0.2))  # an expired delay queue is declared again
    await wait_for(lambda: queue_stats(names.queue)["messages_ready"] == 4, "the new delayed one")


@pytest.mark.parametrize("bad", ["soon", float("nan"), True, -1, 1e300])
async def test_bad_delay_label_is_refused_before_sending(
    make_broker: BrokerFactory, names: Names, bad: object
) -> None:
    broker = await make_broker()
    with pytest.raises(SendTaskError, match="'delay'"):
        await broker.kick(message("x", delay=bad))
    assert queue_stats(names.queue)["messages_ready"] == 0


async def _plugin_enabled() -> bool:
    connection = await aio_pika.connect(RABBIT_URL)
    async with connection:
        channel = await connection.channel()
        try:
            await channel.declare_exchange(
                "taskiq-plugin-probe",
                type="x-delayed-message",
                auto_delete=True,
                arguments={"x-delayed-type": "direct"},
            )
        except aio_pika.exceptions.AMQPError:
            return False
        await channel.exchange_delete("taskiq-plugin-probe")
    return True


async def test_delayed_message_exchange_plugin_when_asked(make_broker: BrokerFactory) -> None:
    """With the plugin the exchange delays; without it, startup says how to enable it.

    CI's RabbitMQ (Debian's package) has no plugin, so CI checks the second half.
    """
    if not await _plugin_enabled():
        with pytest.raises(TopologyError, match="rabbitmq-plugins enable"):
            await make_broker(delayed_message_exchange_plugin=True)
        return
    broker = await make_broker(delayed_message_exchange_plugin=True)
    sent = time.monotonic()
    await broker.kick(message("late", b"late", delay=1))
    async with aclosing(broker.listen()) as deliveries:
        (delivery,) = await take(deliveries, 1)
        await delivery.ack()
    assert time.monotonic() - sent >= 0.95


async def test_higher_priority_is_consumed_first(make_broker: BrokerFactory) -> None:
    broker = await make_broker(max_priority=10)
    for level in ("1", "9", "0", "5"):
        await broker.kick(BrokerMessage(level, "t", level.encode(), {"priority": level}))
    await broker.kick(BrokerMessage("none", "t", b"none", {}))

    async with aclosing(broker.listen()) as deliveries:
        received = await take(deliveries, 5)
        for delivery in received:
            await delivery.ack()
    assert [d.data for d in received] == [b"9", b"5", b"1", b"0", b"none"]


def test_quorum_queues_refuse_max_priority() -> None:
    from taskiq_aio_pika import AioPikaBroker

    with pytest.raises(ValueError, match="quorum"):
        AioPikaBroker(queue_type="quorum", max_priority=5)


async def test_close_delays_share_one_delay_queue(make_broker: BrokerFactory, names: Names) -> None:
    broker = await make_broker()
    await broker.kick(message("a", delay=1.234))
    await broker.kick(message("b", delay=1.237))  # both rounded up to 1.24 s
    await broker.kick(message("c", delay=0.5))

    assert sorted(queues_named(names("q.delay"))) == [names("q.delay.1240"), names("q.delay.500")]

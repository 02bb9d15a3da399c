"""RedisBroker in one process: send, receive, ack, reject, delay, priority, storage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis_test_helpers import eventually, kicker, next_message
from taskiq.message import BrokerMessage
from taskiq_redis import RedisBroker


@pytest.fixture
async def broker(redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
    broker = RedisBroker(redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=200)
    broker.is_worker_process = True
    await broker.startup()
    yield broker
    await broker.shutdown()


def _message(task_id: str, payload: bytes = b"{}", **labels: object) -> BrokerMessage:
    return BrokerMessage(task_id=task_id, task_name="t", message=payload, labels=dict(labels))


async def test_kicked_message_is_delivered_once_and_ack_removes_it(
    broker: RedisBroker,
    redis_client: Redis,
) -> None:
    await broker.kick(_message("a", b"payload-a"))
    listener = broker.listen()
    message = await next_message(listener)
    assert message.data == b"payload-a"
    stream = broker.keys.stream()
    assert await redis_client.xlen(stream) == 1
    await message.ack()
    assert await redis_client.xlen(stream) == 0, "an acknowledged entry must be deleted"
    pending = await redis_client.xpending(stream, broker.consumer_group_name)
    assert pending["pending"] == 0
    await listener.aclose()


async def test_reject_dead_letters_and_replay_delivers_again(broker: RedisBroker) -> None:
    await broker.kick(_message("b", b"payload-b"))
    listener = broker.listen()
    message = await next_message(listener)
    assert message.reject is not None
    await message.reject()
    letters = await broker.dead_letters()
    assert [(letter.message, letter.reason, letter.task_id) for letter in letters] == [
        (b"payload-b", "rejected", "b"),
    ]
    assert letters[0].delivery_count == 1
    assert await broker.replay_dead_letters() == 1
    assert await broker.dead_letters() == []
    again = await next_message(listener)
    assert again.data == b"payload-b"
    await again.ack()
    await listener.aclose()


async def test_nack_puts_the_message_back_for_a_live_worker_at_once(
    broker: RedisBroker,
) -> None:
    """idle_timeout is 60 s here: only the nack can bring the message back this soon."""
    await broker.kick(_message("n", b"payload-n"))
    listener = broker.listen()
    message = await next_message(listener)
    assert message.nack is not None
    await message.nack()
    again = await next_message(listener, timeout=10)
    assert again.data == b"payload-n"
    await again.ack()
    assert await broker.dead_letters() == []
    await listener.aclose()


async def test_malformed_entry_is_dead_lettered_and_does_not_block(
    broker: RedisBroker,
    redis_client: Redis,
) -> None:
    await redis_client.xadd(broker.keys.stream(), {"garbage": "no data field"})
    await broker.kick(_message("c", b"payload-c"))
    listener = broker.listen()
    message = await next_message(listener)
    assert message.data == b"payload-c"
    await message.ack()
    letters = await broker.dead_letters()
    assert len(letters) == 1
    assert letters[0].reason == "malformed: stream entry has no 'data' field"
    assert await broker.delete_dead_letters(letters[0].id) == 1
    await listener.aclose()


async def test_undecodable_payload_is_dead_lettered_by_the_receiver(
    broker: RedisBroker,
) -> None:
    from taskiq.receiver import Receiver

    await broker.kick(_message("d", b"\xff not a message"))
    listener = broker.listen()
    message = await next_message(listener)
    await Receiver(broker).callback(message)
    letters = await broker.dead_letters()
    assert [letter.message for letter in letters] == [b"\xff not a message"]
    assert letters[0].reason.startswith("malformed: ")
    await listener.aclose()


@pytest.mark.parametrize("delay", [1e300, float("inf"), "nan", -1, "soon", True])
async def test_an_absurd_delay_is_refused_and_nothing_is_stored(
    broker: RedisBroker,
    redis_client: Redis,
    delay: object,
) -> None:
    from taskiq.exceptions import SendTaskError

    with pytest.raises(SendTaskError, match=r"Label 'delay' is .* from 0 to 315360000"):
        await broker.kick(_message("absurd", b"absurd", delay=delay))
    assert await redis_client.xlen(broker.keys.stream()) == 0
    assert await redis_client.zcard(broker.keys.delayed) == 0


async def test_delay_label_holds_the_message_back(broker: RedisBroker) -> None:
    await broker.kick(_message("late", b"late", delay="1.5"))
    await broker.kick(_message("now", b"now"))
    listener = broker.listen()
    loop = asyncio.get_running_loop()
    start = loop.time()
    first = await next_message(listener)
    assert first.data == b"now"
    await first.ack()
    second = await next_message(listener)
    assert second.data == b"late"
    assert loop.time() - start >= 1.4, "a delayed message must not arrive before its delay"
    await second.ack()
    await listener.aclose()


async def test_priority_label_is_served_highest_first(redis_url: str, queue_name: str) -> None:
    broker = RedisBroker(redis_url, queue_name=queue_name, max_priority=2, xread_block=200)
    await broker.startup()
    try:
        await broker.kick(_message("low", b"low"))
        await broker.kick(_message("mid", b"mid", priority=1))
        await broker.kick(_message("high", b"high", priority="2"))
        await broker.kick(_message("clamped", b"clamped", priority=9))
        listener = broker.listen()
        received = []
        for _ in range(4):
            message = await next_message(listener)
            received.append(message.data)
            await message.ack()
        assert received == [b"high", b"clamped", b"mid", b"low"]
        await listener.aclose()
    finally:
        await broker.shutdown()


async def test_kiq_through_a_task_kicker_reaches_the_stream(broker: RedisBroker) -> None:
    task = await kicker(broker).kiq(5)
    listener = broker.listen()
    message = await next_message(listener)
    decoded = broker.formatter.loads(message.data if isinstance(message.data, bytes) else b"")
    assert (decoded.task_id, decoded.task_name, decoded.args) == (task.task_id, "record", [5])
    await message.ack()
    await listener.aclose()


async def test_shutdown_gives_unsettled_messages_back_at_once(
    redis_url: str,
    queue_name: str,
) -> None:
    first = RedisBroker(
        redis_url, queue_name=queue_name, idle_timeout=60_000, xread_count=3, xread_block=200
    )
    await first.startup()
    for name in ("x", "y", "z"):
        await first.kick(_message(name, name.encode()))
    listener = first.listen()
    taken = await next_message(listener)  # handed out, never settled; two more buffered
    await listener.aclose()
    await first.shutdown()
    second = RedisBroker(redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=200)
    await second.startup()
    listener = second.listen()
    got = set()
    for _ in range(3):
        message = await next_message(listener, timeout=10)
        got.add(message.data)
        await message.ack()
    assert got == {b"x", b"y", b"z"}
    assert taken.data in got
    await listener.aclose()
    await second.shutdown()


async def test_eventually_helper_fails_when_condition_never_holds() -> None:
    async def never() -> bool:
        return False

    with pytest.raises(AssertionError):
        await eventually(never, timeout=0.2)


async def test_departed_consumers_without_pending_entries_are_forgotten(
    broker: RedisBroker,
    redis_client: Redis,
) -> None:
    stream, group = broker.keys.stream(), broker.consumer_group_name
    await broker.kick(_message("held", b"held"))
    await redis_client.xreadgroup(group, "ghost-holding", {stream: ">"}, count=1)
    await redis_client.xgroup_createconsumer(stream, group, "ghost-empty")
    await asyncio.sleep(0.01)  # both consumers are now idle for at least 10 ms
    deleted = await broker.scripts.prune(stream, group, 5, keep=broker.consumer_name)
    names = {c["name"] for c in await redis_client.xinfo_consumers(stream, group)}
    assert deleted == 1
    assert names == {b"ghost-holding"}, "a consumer holding entries must never be deleted"


async def test_idle_entries_behind_many_live_leases_are_claimed_in_one_fetch(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    """XAUTOCLAIM scans 10 entries per call; the broker must look past live leases at once."""
    broker = RedisBroker(redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=100)
    await broker.startup()
    stream, group = broker.keys.stream(), broker.consumer_group_name
    for number in range(31):
        await broker.kick(_message(str(number), str(number).encode()))
    await redis_client.xreadgroup(group, "live-worker", {stream: ">"}, count=30)
    dead = await redis_client.xreadgroup(group, "dead-worker", {stream: ">"}, count=1)
    dead_id = dead[0][1][0][0]
    # The dead worker's entry has been idle for 100 s; the live ones were just renewed.
    await redis_client.xclaim(stream, group, "dead-worker", 0, [dead_id], idle=100_000)
    listener = broker.listen()
    message = await next_message(listener, timeout=5)  # the next claim would be 15 s away
    assert message.data == b"30"
    await message.ack()
    await listener.aclose()
    await broker.shutdown()


def test_default_timings_redeliver_a_dead_workers_task_within_30_seconds() -> None:
    """Worst case: lease lapses (idle_timeout), next claim check (idle/4), one blocked read."""
    broker = RedisBroker("redis://127.0.0.1:6379/0")
    worst_ms = broker.idle_timeout + broker.idle_timeout / 4 + broker.block
    assert worst_ms < 30_000


async def test_shutdown_returns_entries_a_cancelled_read_left_behind(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    first = RedisBroker(redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=100)
    await first.startup()
    await first.kick(_message("lost?", b"lost?"))
    stream, group = first.keys.stream(), first.consumer_group_name
    # A read cancelled by the receiver after Redis answered: the entry is pending for
    # this consumer, but the broker never saw the reply.
    await redis_client.xreadgroup(group, first.consumer_name, {stream: ">"}, count=1)
    assert first.leases.held == {}
    await first.shutdown()
    consumers = {c["name"] for c in await redis_client.xinfo_consumers(stream, group)}
    assert first.consumer_name.encode() not in consumers
    second = RedisBroker(redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=100)
    await second.startup()
    listener = second.listen()
    message = await next_message(listener, timeout=5)
    assert message.data == b"lost?"
    await message.ack()
    await listener.aclose()
    await second.shutdown()


async def test_additional_streams_are_read_and_acked_too(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    extra = f"{queue_name}-extra"
    broker = RedisBroker(
        redis_url, queue_name=queue_name, additional_streams={extra: ">"}, xread_block=100
    )
    await broker.startup()
    await redis_client.xadd(extra, {"data": b"from elsewhere"})
    listener = broker.listen()
    message = await next_message(listener)
    assert message.data == b"from elsewhere"
    await message.ack()
    assert await redis_client.xlen(extra) == 0
    await listener.aclose()
    await broker.shutdown()


async def test_a_lost_consumer_group_is_recreated_while_listening(
    broker: RedisBroker,
    redis_client: Redis,
) -> None:
    listener = broker.listen()
    waiting = asyncio.ensure_future(listener.__anext__())
    await redis_client.xgroup_destroy(broker.keys.stream(), broker.consumer_group_name)
    await broker.kick(_message("after", b"after the group vanished"))
    message = await asyncio.wait_for(waiting, 20)
    assert not isinstance(message, bytes)
    assert message.data == b"after the group vanished"
    await message.ack()
    await listener.aclose()

"""Entries and outages that once made a stream worker crash-loop or run a task twice.

Each test reproduces a failure found by a fault probe (issue 21) against a real
Redis: a huge malformed entry, the stream deleted under a blocked read, a lease
renewal that hits a server error, a hand-back after the lease was lost.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis_test_helpers import eventually, next_message
from taskiq.message import BrokerMessage
from taskiq.receiver import Receiver
from taskiq_redis import RedisBroker
from taskiq_redis.leases import Delivery, LeaseKeeper
from taskiq_redis.stream_scripts import StreamScripts

from conftest import TESTS_DIR, RedisServer

#: More fields than Lua can pass to one redis.call (its C stack holds ~8,000 values).
HUGE_FIELD_COUNT = 5_000


@pytest.fixture
async def broker(redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
    broker = RedisBroker(redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=200)
    broker.is_worker_process = True
    await broker.startup()
    yield broker
    await broker.shutdown()


def _huge_entry(data: bytes = b"\x00garbage\xff") -> dict[str, bytes]:
    fields = {f"f{index}": b"x" * 8 for index in range(HUGE_FIELD_COUNT)}
    return {"data": data, **fields}


async def test_an_entry_with_thousands_of_fields_is_dead_lettered(
    broker: RedisBroker,
    redis_client: Redis,
) -> None:
    stream = broker.keys.stream()
    await redis_client.xadd(stream, _huge_entry())  # type: ignore[arg-type]
    listener = broker.listen()
    message = await next_message(listener)
    await Receiver(broker).callback(message)
    letters = await broker.dead_letters()
    assert [letter.message for letter in letters] == [b"\x00garbage\xff"]
    pending = await redis_client.xpending(stream, broker.consumer_group_name)
    assert pending["pending"] == 0, "the entry must not stay pending"
    assert await redis_client.xlen(stream) == 0
    await listener.aclose()


async def test_an_entry_with_thousands_of_fields_and_no_data_is_dead_lettered(
    broker: RedisBroker,
    redis_client: Redis,
) -> None:
    fields = _huge_entry()
    del fields["data"]
    await redis_client.xadd(broker.keys.stream(), fields)  # type: ignore[arg-type]
    await broker.kick(BrokerMessage(task_id="ok", task_name="t", message=b"fine", labels={}))
    listener = broker.listen()
    message = await next_message(listener)
    assert message.data == b"fine"
    await message.ack()
    letters = await broker.dead_letters()
    [reason] = [letter.reason for letter in letters]
    assert reason.startswith("malformed: ")
    assert "'data' field" in reason
    await listener.aclose()


async def test_a_huge_entry_handed_back_at_shutdown_is_requeued(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    broker = RedisBroker(redis_url, queue_name=queue_name, idle_timeout=60_000, xread_block=200)
    await broker.startup()
    stream = broker.keys.stream()
    await redis_client.xadd(stream, _huge_entry(b"big"))  # type: ignore[arg-type]
    listener = broker.listen()
    message = await next_message(listener)
    assert message.data == b"big"
    await listener.aclose()
    await broker.shutdown()
    entries = await redis_client.xrange(stream)
    assert len(entries) == 1
    assert entries[0][1][b"data"] == b"big"
    consumers = await redis_client.xinfo_consumers(stream, broker.consumer_group_name)
    assert consumers == [], "shutdown must leave no consumer behind"


async def test_deleting_the_stream_under_a_blocked_read_is_ridden_out(
    redis_server: RedisServer,
    queue_name: str,
) -> None:
    broker = RedisBroker(redis_server.url, queue_name=queue_name, xread_block=10_000)
    broker.is_worker_process = True
    await broker.startup()
    inspector = Redis.from_url(redis_server.url)
    try:
        listener = broker.listen()
        waiting = asyncio.ensure_future(listener.__anext__())

        async def read_is_blocked() -> bool:
            return int((await inspector.info("clients"))["blocked_clients"]) >= 1

        await eventually(read_is_blocked, what="the worker blocked in XREADGROUP")
        await inspector.delete(broker.keys.stream())
        await broker.kick(BrokerMessage(task_id="a", task_name="t", message=b"after", labels={}))
        message = await asyncio.wait_for(waiting, 30)
        assert not isinstance(message, bytes)
        assert message.data == b"after"
        await message.ack()
        await listener.aclose()
    finally:
        await inspector.aclose()
        await broker.shutdown()


async def test_lease_renewal_survives_a_server_error_and_keeps_renewing(
    redis_client: Redis,
    queue_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream, group, consumer = f"{{{queue_name}}}", "g", "me"
    await redis_client.set(stream, "not a stream")  # every extend now fails with WRONGTYPE
    keeper = LeaseKeeper(StreamScripts(redis_client), group, consumer)
    stopping = asyncio.Event()
    renewing = asyncio.ensure_future(keeper.run(0.05, stopping))
    try:
        keeper.hold(Delivery(stream, "1-0", {}))

        async def failure_logged() -> bool:
            return any("leases" in record.getMessage() for record in caplog.records)

        with caplog.at_level(logging.WARNING, logger="taskiq_redis.leases"):
            await eventually(failure_logged, what="the failed renewal logged")
        assert not renewing.done(), "lease renewal stopped after one server error"
        await redis_client.delete(stream)
        entry_id = await redis_client.xadd(stream, {"data": b"x"})
        await redis_client.xgroup_create(stream, group, id="0")
        await redis_client.xreadgroup(group, consumer, {stream: ">"})
        await redis_client.xclaim(stream, group, consumer, 0, [entry_id], idle=100_000)
        keeper.held.clear()
        keeper.hold(Delivery(stream, entry_id.decode(), {}))

        async def renewed() -> bool:
            info = await redis_client.xpending_range(stream, group, "-", "+", 1)
            return int(info[0]["time_since_delivered"]) < 10_000

        await eventually(renewed, what="the lease renewed again")
    finally:
        stopping.set()
        await renewing


async def test_a_hand_back_after_a_lost_lease_does_not_copy_the_entry(
    broker: RedisBroker,
    redis_client: Redis,
) -> None:
    await broker.kick(BrokerMessage(task_id="x", task_name="t", message=b"once", labels={}))
    stream, group = broker.keys.stream(), broker.consumer_group_name
    listener = broker.listen()
    message = await next_message(listener)
    [entry] = await redis_client.xrange(stream)
    # Another worker took the entry over (this one's lease was lost): it now owns it.
    await redis_client.xclaim(stream, group, "other-worker", 0, [entry[0]])
    assert message.nack is not None
    await message.nack()
    entries = await redis_client.xrange(stream)
    assert [entry_id for entry_id, _ in entries] == [entry[0]], "the hand-back made a copy"
    owners = await redis_client.xpending_range(stream, group, "-", "+", 10)
    assert [owner["consumer"] for owner in owners] == [b"other-worker"]
    await listener.aclose()


def _cli_workers(redis_url: str, queue_name: str, count: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TQ_BROKER_URL": redis_url, "TQ_QUEUE": queue_name, "TQ_IDLE_MS": "2000"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "taskiq",
            "worker",
            "redis_worker_app:broker",
            "--app-dir",
            str(TESTS_DIR),
            "--workers",
            str(count),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
async def test_taskiq_worker_dead_letters_a_huge_entry_and_leaves_no_consumer(
    client: RedisBroker,
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    stream = client.keys.stream()
    await redis_client.xadd(stream, _huge_entry())  # type: ignore[arg-type]
    worker = _cli_workers(redis_url, queue_name, 2)
    try:

        async def dead_lettered() -> bool:
            return len(await client.dead_letters()) == 1

        await eventually(dead_lettered, timeout=60, what="the huge entry dead-lettered")

        async def nothing_pending() -> bool:
            pending = await redis_client.xpending(stream, client.consumer_group_name)
            return int(pending["pending"]) == 0

        await eventually(nothing_pending, what="no entry left pending")
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
        assert worker.returncode == 0, stderr.decode(errors="replace")[-2000:]
        assert b"Traceback" not in stderr, stderr.decode(errors="replace")[-2000:]
        consumers = await redis_client.xinfo_consumers(stream, client.consumer_group_name)
        assert consumers == [], "every child must leave the consumer group at shutdown"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=20)


async def test_a_huge_entry_over_max_deliveries_is_dead_lettered_when_claimed(
    redis_url: str,
    queue_name: str,
    redis_client: Redis,
) -> None:
    broker = RedisBroker(
        redis_url, queue_name=queue_name, idle_timeout=1_000, max_deliveries=2, xread_block=200
    )
    broker.is_worker_process = True
    await broker.startup()
    stream, group = broker.keys.stream(), broker.consumer_group_name
    entry_id = await redis_client.xadd(stream, _huge_entry())  # type: ignore[arg-type]
    await redis_client.xreadgroup(group, "dead-worker", {stream: ">"}, count=1)
    # A worker that died on it for the fifth time: idle long ago, delivered 5 times.
    await redis_client.xclaim(
        stream, group, "dead-worker", 0, [entry_id], idle=100_000, retrycount=5
    )
    await broker.kick(BrokerMessage(task_id="ok", task_name="t", message=b"next", labels={}))
    listener = broker.listen()
    try:
        message = await next_message(listener)
        assert message.data == b"next"
        await message.ack()
        letters = await broker.dead_letters()
        assert [letter.reason for letter in letters] == ["failed 5 times"]
        assert letters[0].message == b"\x00garbage\xff"
    finally:
        await listener.aclose()
        await broker.shutdown()


async def test_acks_of_more_deliveries_than_lua_can_unpack_at_once(
    broker: RedisBroker,
    redis_client: Redis,
) -> None:
    stream, group = broker.keys.stream(), broker.consumer_group_name
    pipe = redis_client.pipeline(transaction=False)
    for number in range(9_000):
        pipe.xadd(stream, {"data": str(number)})
    await pipe.execute()
    delivered = await redis_client.xreadgroup(group, broker.consumer_name, {stream: ">"})
    ids = [entry_id.decode() for entry_id, _ in delivered[0][1]]
    assert await broker.scripts.ack(stream, group, ids) == 9_000
    assert await redis_client.xlen(stream) == 0

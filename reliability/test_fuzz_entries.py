"""Property-based fuzzing of each broker's entry parser, against the real (shared) servers.

A raw entry of any shape is written straight into the broker's storage: a
Redis stream entry with arbitrary fields, a NATS message with arbitrary
headers, an AMQP message with arbitrary properties (and, in a dead-letter
queue, an arbitrary ``x-death`` header). The broker's ``listen()`` must then
either hand the payload over unchanged or dead-letter the entry, and never
raise; reading dead letters back must give records or our own error.

Each example is followed by a sentinel entry, so the test knows when the
broker has finished with the fuzzed one. Queue names are unique per test and
deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any

import aio_pika
import nats
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from taskiq.acks import AckableMessage
from taskiq.exceptions import TaskiqError
from taskiq_aio_pika import AioPikaBroker
from taskiq_nats import PullBasedJetStreamBroker
from taskiq_redis import RedisStreamBroker

EXAMPLES = int(os.environ.get("TASKIQ_CHAOS_FUZZ_EXAMPLES", "40")) // 2
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SENTINEL = b"sentinel"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


class Loop:
    """One event loop for a whole hypothesis test (each example runs a coroutine on it)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, 30))

    def close(self) -> None:
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


@pytest.fixture
def loop() -> Iterator[Loop]:
    running = Loop()
    yield running
    running.close()


class Listener:
    """A started broker and its ``listen()`` generator, driven example by example."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.messages: AsyncGenerator[bytes | AckableMessage, None] | None = None

    async def start(self) -> None:
        self.broker.is_worker_process = True
        await self.broker.startup()
        self.messages = self.broker.listen()

    async def until_sentinel(self) -> list[bytes]:
        """Every payload delivered before the sentinel (each acked)."""
        assert self.messages is not None
        seen: list[bytes] = []
        async for message in self.messages:
            assert isinstance(message, AckableMessage)
            await _maybe_await(message.ack())
            data = message.data if isinstance(message.data, bytes) else message.data.encode()
            if data == SENTINEL:
                return seen
            seen.append(data)
        raise AssertionError("listen() ended")

    async def stop(self) -> None:
        if self.messages is not None:
            await self.messages.aclose()
        await self.broker.shutdown()


async def _maybe_await(value: Any) -> None:
    if asyncio.iscoroutine(value):
        await value


@contextlib.contextmanager
def listening(loop: Loop, broker: Any) -> Iterator[Listener]:
    listener = Listener(broker)
    loop.run(listener.start())
    try:
        yield listener
    finally:
        loop.run(listener.stop())


# -- Redis: stream entries ---------------------------------------------------

field_names = st.binary(min_size=1, max_size=12) | st.sampled_from(
    [b"data", b"task_id", b"task_name", b"deliveries"]
)
entries = st.dictionaries(field_names, st.binary(max_size=64), min_size=1, max_size=30)


@pytest.fixture
def redis_queue(require_service: Callable[[str, str, int], None]) -> Iterator[str]:
    require_service("redis", "127.0.0.1", 6379)
    name = f"chaos-fuzz-{uuid.uuid4().hex[:10]}"
    yield name

    async def clean() -> None:
        async with Redis.from_url("redis://127.0.0.1:6379/0") as client:
            keys = [key async for key in client.scan_iter(f"*{name}*")]
            if keys:
                await client.delete(*keys)

    asyncio.run(clean())


@FUZZ
@given(fields=entries)
def test_redis_stream_entry_of_any_shape_is_delivered_or_dead_lettered(
    loop: Loop, redis_queue: str, fields: dict[bytes, bytes]
) -> None:
    broker = RedisStreamBroker("redis://127.0.0.1:6379/0", queue_name=redis_queue, xread_block=200)
    stream, dead = f"{{{redis_queue}}}", f"{{{redis_queue}}}:dead"
    with listening(loop, broker) as listener:

        async def example() -> tuple[list[bytes], int, int]:
            async with Redis.from_url("redis://127.0.0.1:6379/0") as client:
                before = int(await client.xlen(dead))
                await client.xadd(stream, fields)  # type: ignore[arg-type]
                await client.xadd(stream, {b"data": SENTINEL})
                seen = await listener.until_sentinel()
                return seen, before, int(await client.xlen(dead))

        seen, dead_before, dead_after = loop.run(example())
    if b"data" in fields:
        assert seen == [fields[b"data"]]
    else:
        assert seen == []
        assert dead_after == dead_before + 1


# -- NATS: headers -----------------------------------------------------------

header_names = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True) | st.sampled_from(
    ["Taskiq-Task-Id", "Taskiq-Task-Name", "Taskiq-Not-Before", "Taskiq-Dead-Letter-Reason"]
)
header_values = st.from_regex(r"[ -~]{0,40}", fullmatch=True).filter(
    lambda value: not _due_later(value)
)


def _due_later(value: str) -> bool:
    """A not-before in the future delays the message: outside this property."""
    try:
        return float(value) > 0
    except ValueError:
        return False


@pytest.fixture
def nats_names(require_service: Callable[[str, str, int], None]) -> Iterator[dict[str, str]]:
    require_service("NATS", "127.0.0.1", 4222)
    suffix = uuid.uuid4().hex[:10]
    names = {"stream": f"chaos_fuzz_{suffix}", "subject": f"chaos.fuzz.{suffix}"}
    yield names

    async def clean() -> None:
        client = await nats.connect("nats://127.0.0.1:4222")
        for stream in (names["stream"], f"{names['stream']}_dead_letters"):
            with contextlib.suppress(Exception):
                await client.jetstream().delete_stream(stream)
        await client.close()

    asyncio.run(clean())


@FUZZ
@given(
    headers=st.dictionaries(header_names, header_values, max_size=6),
    payload=st.binary(min_size=1, max_size=64).filter(lambda p: p != SENTINEL),
)
def test_nats_message_with_any_headers_is_delivered(
    loop: Loop, nats_names: dict[str, str], headers: dict[str, str], payload: bytes
) -> None:
    broker = PullBasedJetStreamBroker(
        "nats://127.0.0.1:4222",
        subject=nats_names["subject"],
        stream_name=nats_names["stream"],
        durable=nats_names["stream"],
        ack_wait=5.0,
    )
    with listening(loop, broker) as listener:

        async def example() -> list[bytes]:
            client = await nats.connect("nats://127.0.0.1:4222")
            try:
                js = client.jetstream()
                await js.publish(nats_names["subject"], payload, headers=headers or None)
                await js.publish(nats_names["subject"], SENTINEL)
            finally:
                await client.close()
            return await listener.until_sentinel()

        assert loop.run(example()) == [payload]


# -- RabbitMQ: message properties and dead-letter headers ----------------------

amqp_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
properties = st.fixed_dictionaries(
    {},
    optional={
        "headers": st.dictionaries(st.text(min_size=1, max_size=10), amqp_values, max_size=4),
        "content_type": st.text(max_size=20),
        "content_encoding": st.text(max_size=20),
        "type": st.text(max_size=20),
        "message_id": st.text(max_size=20),
        "correlation_id": st.text(max_size=20),
        "app_id": st.text(max_size=20),
        "priority": st.integers(0, 255),
    },
)
x_death = (
    st.lists(
        st.dictionaries(
            st.sampled_from(["count", "queue", "reason", "exchange", "routing-keys", "time"]),
            amqp_values,
            max_size=6,
        )
        | amqp_values,
        max_size=2,
    )
    | amqp_values
)


@pytest.fixture
def rabbit_names(require_service: Callable[[str, str, int], None]) -> Iterator[dict[str, str]]:
    require_service("rabbitmq", "127.0.0.1", 5672)
    prefix = f"chaos-fuzz-{uuid.uuid4().hex[:10]}"
    names = {"exchange": f"{prefix}.x", "queue": f"{prefix}.q"}
    yield names

    async def clean() -> None:
        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
        async with connection:
            for queue in (names["queue"], f"{names['queue']}.dead_letter"):
                with contextlib.suppress(Exception):
                    await (await connection.channel()).queue_delete(queue)
            for exchange in (names["exchange"], f"{names['exchange']}.dead_letter"):
                with contextlib.suppress(Exception):
                    await (await connection.channel()).exchange_delete(exchange)

    asyncio.run(clean())


def _rabbit(names: dict[str, str]) -> AioPikaBroker:
    return AioPikaBroker(
        "amqp://guest:guest@127.0.0.1:5672/",
        exchange_name=names["exchange"],
        queue_name=names["queue"],
    )


async def _publish(queue: str, body: bytes, **props: Any) -> None:
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        channel = await connection.channel()
        await channel.default_exchange.publish(aio_pika.Message(body, **props), routing_key=queue)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@FUZZ
@given(props=properties, body=st.binary(max_size=64).filter(lambda b: b != SENTINEL))
def test_rabbitmq_message_with_any_properties_is_delivered(
    loop: Loop, rabbit_names: dict[str, str], props: dict[str, Any], body: bytes
) -> None:
    with listening(loop, _rabbit(rabbit_names)) as listener:

        async def example() -> list[bytes]:
            await _publish(rabbit_names["queue"], body, **props)
            await _publish(rabbit_names["queue"], SENTINEL)
            return await listener.until_sentinel()

        assert loop.run(example()) == [body]


#: Found by this suite (not in issue 21): `taskiq_aio_pika.dead_letters.describe` runs
#: ``int(death["count"])`` and ``keys[0]`` on whatever the header holds, so a forged
#: ``x-death`` (count a dict, routing-keys an int) makes peek_dead_letters raise TypeError.


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@FUZZ
@given(death=x_death, props=properties)
def test_rabbitmq_dead_letter_with_any_x_death_header_can_be_listed(
    loop: Loop, rabbit_names: dict[str, str], death: Any, props: dict[str, Any]
) -> None:
    broker = _rabbit(rabbit_names)

    async def example() -> None:
        await broker.startup()
        await broker.purge_dead_letters()  # a failed example must not haunt the next one
        try:
            headers = {**props.pop("headers", {}), "x-death": death}
            await _publish(
                f"{rabbit_names['queue']}.dead_letter", b"dead", headers=headers, **props
            )
            try:
                letters = await broker.peek_dead_letters()
            except TaskiqError:
                letters = []
            assert all(letter.message == b"dead" for letter in letters)
            await broker.purge_dead_letters()
        finally:
            await broker.shutdown()

    loop.run(example())


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "death",
    [[{"count": {"a": 1}}], [{"routing-keys": 5}], [{"count": "many"}]],
    ids=["count-dict", "routing-keys-int", "count-text"],
)
def test_rabbitmq_dead_letter_with_a_forged_x_death_can_be_listed(
    loop: Loop, rabbit_names: dict[str, str], death: Any
) -> None:
    broker = _rabbit(rabbit_names)

    async def example() -> None:
        await broker.startup()
        try:
            queue = f"{rabbit_names['queue']}.dead_letter"
            await _publish(queue, b"dead", headers={"x-death": death})
            try:
                letters = await broker.peek_dead_letters()
            except TaskiqError:
                return
            assert [letter.message for letter in letters] == [b"dead"]
        finally:
            await broker.shutdown()

    loop.run(example())

"""The broker against the real Kafka-API server, with an in-process receiver.

Sends, topics, dead letters and replay, delays, local retries, per-key order.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from taskiq import Context, TaskiqDepends
from taskiq.control import ReasonKind
from taskiq.exceptions import BrokerConnectionError, BrokerError, SendTaskError
from taskiq_aio_kafka import AioKafkaBroker, RetryPolicy, Topic, TopicConfig

pytestmark = pytest.mark.service("kafka")


def make_broker(url: str, names: Any, **kwargs: Any) -> AioKafkaBroker:
    broker = AioKafkaBroker(bootstrap_servers=url, kafka_topic=names.topic(), **kwargs)
    broker.configure_consumer(group_id=names.group())
    return broker


async def test_round_trip_in_process(
    kafka_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    broker = make_broker(kafka_url, names)
    seen: list[int] = []

    @broker.task
    async def record(value: int) -> int:
        seen.append(value)
        return value * 2

    async with run_worker(broker, max_async_tasks=10):
        for i in range(20):
            await record.kiq(i)
        await eventually(lambda: len(seen) >= 20)
    assert sorted(seen) == list(range(20))


async def test_topics_are_created_with_their_partitions(kafka_url: str, names: Any) -> None:
    extra = names.topic("emails")
    broker = AioKafkaBroker(
        bootstrap_servers=kafka_url,
        kafka_topic=Topic(names.topic(), TopicConfig(num_partitions=3)),
        kafka_topics=[extra],
    )
    await broker.startup()
    await broker.shutdown()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_url)
    await admin.start()
    try:
        described = await admin.describe_topics([broker.default_topic, extra])
    finally:
        await admin.close()
    partitions = {topic["topic"]: len(topic["partitions"]) for topic in described}
    assert partitions == {broker.default_topic: 3, extra: 1}


async def test_task_topic_and_with_topic_route_sends(
    kafka_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    broker = make_broker(kafka_url, names)
    emails, reports = names.topic("emails"), names.topic("reports")
    broker.topics[reports] = reports
    seen: list[tuple[str, str]] = []

    @broker.task(topic=emails)
    async def send_email(user: str, context: Context = TaskiqDepends()) -> None:
        seen.append((user, context.message.labels.get(broker.task_topic_label, "")))

    assert emails in broker.topics
    async with run_worker(broker):
        await send_email.kiq("a")
        await send_email.kicker().with_topic(reports).kiq("b")
        await eventually(lambda: len(seen) == 2)
    assert sorted(seen) == [("a", emails), ("b", reports)]


async def test_send_before_startup_raises_send_task_error(kafka_url: str, names: Any) -> None:
    broker = make_broker(kafka_url, names)

    @broker.task
    async def noop() -> None: ...

    with pytest.raises(SendTaskError, match="startup"):
        await noop.kiq()


async def test_unacknowledged_send_raises_send_task_error(kafka_url: str, names: Any) -> None:
    """A send the server refuses (here: an invalid topic name) raises, it is not only logged."""
    broker = make_broker(kafka_url, names)
    broker.configure_producer(request_timeout_ms=1000)

    @broker.task
    async def noop() -> None: ...

    await broker.startup()
    try:
        with pytest.raises(SendTaskError):
            await noop.kicker().with_topic("t-no-such-topic-" + names.suffix + "-x" * 300).kiq()
    finally:
        await broker.shutdown()


async def test_unreachable_server_fails_startup_clearly(names: Any) -> None:
    broker = AioKafkaBroker(bootstrap_servers="127.0.0.1:1", connect_attempts=2)
    with pytest.raises(BrokerConnectionError, match=r"127\.0\.0\.1:1"):
        await broker.startup()
    await broker.shutdown()


async def test_rejected_task_goes_to_dead_letters_and_replays(
    kafka_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    broker = make_broker(kafka_url, names)
    runs: list[str] = []
    healed = asyncio.Event()

    @broker.task(task_name="poison")
    async def poison(value: str, context: Context = TaskiqDepends()) -> None:
        runs.append(value)
        if not healed.is_set():
            context.reject()

    async with run_worker(broker):
        task = await poison.kiq("x")
        await eventually(lambda: runs == ["x"])
        letters: list[Any] = []

        async def listed() -> None:
            letters[:] = await broker.dead_letters()

        for _ in range(100):
            await listed()
            if letters:
                break
            await asyncio.sleep(0.1)
        assert [(ltr.task_id, ltr.task_name, ltr.queue) for ltr in letters] == [
            (task.task_id, "poison", broker.default_topic)
        ]
        assert letters[0].reason == "rejected by the task"
        assert letters[0].delivery_count == 1
        healed.set()
        assert await broker.replay_dead_letter(letters[0].id)
        await eventually(lambda: runs == ["x", "x"])
        assert await broker.dead_letters() == []
        assert not await broker.replay_dead_letter(letters[0].id)


async def test_failed_deliveries_retry_then_dead_letter(
    kafka_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    policy = RetryPolicy(max_deliveries=3, backoff=0.05, max_backoff=0.1)
    broker = make_broker(kafka_url, names, retry_policy=policy)
    runs: list[int] = []

    @broker.task(task_name="flaky", ack_type="manual")
    async def flaky() -> None:
        runs.append(1)  # returns without acking: the receiver hands the delivery back

    @broker.task(task_name="fine")
    async def fine() -> None:
        runs.append(0)

    async with run_worker(broker):
        await flaky.kiq()
        await fine.kiq()
        await eventually(lambda: runs.count(1) == 3 and 0 in runs)
        for _ in range(100):
            letters = await broker.dead_letters()
            if letters:
                break
            await asyncio.sleep(0.1)
        assert [(ltr.task_name, ltr.delivery_count, ltr.reason) for ltr in letters] == [
            ("flaky", 3, "failed 3 times")
        ]
        assert await broker.delete_dead_letters(letters[0].id, "12345") == 1
        assert await broker.dead_letters() == []


async def test_delayed_task_waits_without_blocking_others(
    kafka_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    broker = make_broker(kafka_url, names)
    ran: dict[str, float] = {}

    @broker.task
    async def mark(name: str) -> None:
        ran[name] = time.monotonic()

    async with run_worker(broker):
        sent = time.monotonic()
        await mark.kicker().with_labels(delay=2).kiq("late")
        await mark.kiq("now")
        await eventually(lambda: "late" in ran, timeout=30)
    assert ran["now"] < ran["late"]
    assert ran["late"] - sent >= 1.9


async def test_same_key_runs_one_at_a_time_in_order(
    kafka_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    broker = make_broker(kafka_url, names, key_ordering=True)
    log: list[tuple[str, str, int]] = []
    running: dict[str, int] = {}
    overlap: list[str] = []

    @broker.task
    async def step(key: str, number: int) -> None:
        running[key] = running.get(key, 0) + 1
        if running[key] > 1:
            overlap.append(key)
        log.append(("start", key, number))
        await asyncio.sleep(0.02)
        running[key] -= 1

    async with run_worker(broker, max_async_tasks=20):
        for number in range(10):
            for key in ("a", "b", "c"):
                await step.kicker().with_key(key).kiq(key, number)
        await eventually(lambda: len(log) == 30)
    assert overlap == []
    for key in ("a", "b", "c"):
        assert [n for _, k, n in log if k == key] == list(range(10))
    assert max(running.values()) == 0


async def test_undecodable_record_is_dead_lettered_and_the_rest_runs(
    kafka_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    broker = make_broker(kafka_url, names)
    seen: list[int] = []

    @broker.task
    async def record(value: int) -> None:
        seen.append(value)

    producer = AIOKafkaProducer(bootstrap_servers=kafka_url)
    async with run_worker(broker):
        await producer.start()
        try:
            await producer.send_and_wait(broker.default_topic, b"\xffnot a task")
        finally:
            await producer.stop()
        await record.kiq(1)
        await eventually(lambda: seen == [1])
        letters: list[Any] = []
        for _ in range(100):
            letters = await broker.dead_letters()
            if letters:
                break
            await asyncio.sleep(0.1)
        assert [(ltr.message, ltr.kind, ltr.task_id) for ltr in letters] == [
            (b"\xffnot a task", ReasonKind.MALFORMED, None)
        ]


async def test_delete_topic_on_shutdown_removes_the_topics(kafka_url: str, names: Any) -> None:
    broker = make_broker(kafka_url, names, delete_topic_on_shutdown=True)
    await broker.startup()
    await broker.shutdown()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_url)
    await admin.start()
    try:
        left = set(await admin.list_topics())
    finally:
        await admin.close()
    assert broker.default_topic not in left
    assert broker.delay_topic not in left


async def test_a_worker_without_a_group_fails_clearly(kafka_url: str, names: Any) -> None:
    broker = make_broker(kafka_url, names)
    broker.configure_consumer(group_id=None)
    broker.is_worker_process = True
    with pytest.raises(BrokerError, match="group_id"):
        await broker.startup()
    await broker.shutdown()


async def test_a_retried_task_keeps_its_keys_place(
    kafka_url: str, names: Any, run_worker: Any, eventually: Any
) -> None:
    policy = RetryPolicy(max_deliveries=5, backoff=0.2, max_backoff=0.2)
    broker = make_broker(kafka_url, names, key_ordering=True, retry_policy=policy)
    log: list[tuple[int, bool]] = []

    @broker.task(ack_type="manual")
    async def step(number: int, context: Context = TaskiqDepends()) -> None:
        first_try = (number, False) not in log and (number, True) not in log
        log.append((number, first_try))
        if number == 0 and first_try:
            return  # not acked: handed back, retried after the backoff
        await context.ack()

    async with run_worker(broker, max_async_tasks=10):
        for number in range(4):
            await step.kicker().with_key("same").kiq(number)
        await eventually(lambda: len(log) == 5)
    assert log == [(0, True), (0, False), (1, True), (2, True), (3, True)]

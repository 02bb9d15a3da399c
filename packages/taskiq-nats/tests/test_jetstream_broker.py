"""JetStreamBroker against the real NATS server: acks, heartbeats, NAK, dead letters, delay."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats
import pytest
from nats.js.api import StreamConfig
from taskiq import Context, TaskiqDepends
from taskiq.acks import AcknowledgeType
from taskiq.kicker import AsyncKicker
from taskiq_nats import (
    BaseJetStreamBroker,
    JetStreamBroker,
    NatsAckableMessage,
    PullBasedJetStreamBroker,
    PushBasedJetStreamBroker,
)


def make_broker(
    nats_url: str,
    names: Any,
    kind: type[BaseJetStreamBroker] = JetStreamBroker,
    **kwargs: Any,
) -> Any:
    """A broker of ``kind`` on this test's own stream, subject and consumer."""
    if kind is PullBasedJetStreamBroker:
        kwargs.setdefault("durable", f"d_{names.suffix}")
    else:
        kwargs.setdefault("queue", f"q_{names.suffix}")
    return kind(nats_url, subject=names.subject(), stream_name=names.stream(), **kwargs)


ALL_KINDS = pytest.mark.parametrize(
    "kind",
    [JetStreamBroker, PullBasedJetStreamBroker, PushBasedJetStreamBroker],
)


async def consumer_info(broker: BaseJetStreamBroker) -> Any:
    client = await nats.connect(broker.servers)  # type: ignore[arg-type]
    try:
        return await client.jetstream().consumer_info(broker.stream_name, broker.durable)
    finally:
        await client.close()


async def stream_messages(broker: BaseJetStreamBroker) -> int:
    client = await nats.connect(broker.servers)  # type: ignore[arg-type]
    try:
        info = await client.jetstream().stream_info(broker.stream_name)
        return int(info.state.messages)
    finally:
        await client.close()


@ALL_KINDS
async def test_task_runs_once_and_is_removed_from_the_stream(
    kind: type[BaseJetStreamBroker],
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    broker = make_broker(nats_url, names, kind)
    runs: list[int] = []

    @broker.task(task_name="add")
    async def add(a: int, b: int) -> None:
        runs.append(a + b)

    async with run_worker(broker):
        await add.kiq(1, 2)
        await eventually(lambda: runs == [3])
        info = await consumer_info(broker)
        await eventually(lambda: True)
        assert info.config.ack_wait == 30.0
        assert await stream_messages(broker) == 0


@ALL_KINDS
async def test_long_task_is_kept_alive_and_not_redelivered(
    kind: type[BaseJetStreamBroker],
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    broker = make_broker(nats_url, names, kind, ack_wait=2.0)
    runs: list[float] = []
    done: list[float] = []

    @broker.task(task_name="slow")
    async def slow() -> None:
        runs.append(time.monotonic())
        await asyncio.sleep(6)
        done.append(time.monotonic())

    async with run_worker(broker):
        await slow.kiq()
        await eventually(lambda: done, timeout=30)
        info = await consumer_info(broker)
    assert len(runs) == 1
    assert info.num_redelivered == 0
    assert info.num_ack_pending == 0


@ALL_KINDS
async def test_rejected_message_is_dead_lettered_and_can_be_replayed(
    kind: type[BaseJetStreamBroker],
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    """A task the worker does not know is rejected; after a fix, a replay runs it."""
    client = make_broker(nats_url, names, kind)
    await client.startup()
    sent = await client.register_task(lambda word: None, task_name="added_later").kiq("hi")
    worker = make_broker(nats_url, names, kind)
    calls: list[str] = []
    async with run_worker(worker):
        letters = await dead_letters_eventually(worker)
        assert [letter.task_id for letter in letters] == [sent.task_id]
        assert letters[0].reason == "unknown task 'added_later'"
        assert letters[0].queue == worker.subject
        assert letters[0].task_name == "added_later"
        assert letters[0].delivery_count == 1
        worker.register_task(calls.append, task_name="added_later")
        assert await worker.replay_dead_letters() == 1
        await eventually(lambda: calls == ["hi"])
        assert await worker.get_dead_letters() == []
    await client.shutdown()


async def test_context_reject_dead_letters(
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    broker = make_broker(nats_url, names)
    calls: list[str] = []

    @broker.task(task_name="picky")
    async def picky(word: str, context: Context = TaskiqDepends()) -> None:
        calls.append(word)
        context.reject()

    async with run_worker(broker):
        sent = await picky.kiq("hello")
        letters = await dead_letters_eventually(broker)
    assert calls == ["hello"]
    assert [letter.task_id for letter in letters] == [sent.task_id]


async def dead_letters_eventually(broker: Any) -> list[Any]:
    for _ in range(400):
        letters: list[Any] = await broker.get_dead_letters()
        if letters:
            return letters
        await asyncio.sleep(0.05)
    pytest.fail("no dead letter within 20 s")


async def test_unparseable_message_is_terminated_and_dead_lettered(
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = make_broker(nats_url, names)
    async with run_worker(broker):
        client = await nats.connect(nats_url)
        await client.jetstream().publish(broker.subject, b"\x00not a task")
        await client.close()
        letters: list[Any] = []
        for _ in range(400):
            letters = await broker.get_dead_letters()
            if letters:
                break
            await asyncio.sleep(0.05)
        assert [letter.message for letter in letters] == [b"\x00not a task"]
        assert letters[0].reason.startswith("malformed: ")
        info = await consumer_info(broker)
    assert info.num_ack_pending == 0
    assert info.num_redelivered == 0
    assert await stream_messages(broker) == 0
    dead = [r for r in caplog.records if r.getMessage().startswith("Dead-lettered")]
    assert len(dead) == 1
    assert dead[0].levelname == "WARNING"
    assert "malformed: " in dead[0].getMessage()


async def test_nack_backs_off_then_max_deliver_dead_letters(
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    broker = make_broker(nats_url, names, max_deliver=3, nak_backoff=0.2)

    @broker.task(task_name="never_works")
    async def never_works() -> None:
        """Never runs: the test settles deliveries by hand."""

    await broker.startup()
    try:
        sent = await never_works.kiq()
        stream = broker.listen()
        arrivals = []
        for _ in range(3):
            message = await asyncio.wait_for(stream.__anext__(), 20)
            arrivals.append(time.monotonic())
            assert isinstance(message, NatsAckableMessage)
            assert message.nack is not None
            await message.nack()
        consume = asyncio.create_task(stream.__anext__())
        letters: list[Any] = []
        for _ in range(400):
            letters = await broker.get_dead_letters()
            if letters:
                break
            await asyncio.sleep(0.05)
        consume.cancel()
        assert [letter.task_id for letter in letters] == [sent.task_id]
        assert letters[0].delivery_count == 4
        assert letters[0].reason == "failed 3 times"
        # backoff doubles: 0.2 s after the first failure, 0.4 s after the second
        assert arrivals[1] - arrivals[0] >= 0.2
        assert arrivals[2] - arrivals[1] >= 0.4
    finally:
        await broker.shutdown()


async def test_delay_label_defers_the_task(
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    broker = make_broker(nats_url, names)
    ran_at: list[float] = []

    @broker.task(task_name="later")
    async def later() -> None:
        ran_at.append(time.time())

    async with run_worker(broker):
        sent_at = time.time()
        await later.kicker().with_labels(delay=2).kiq()
        await eventually(lambda: ran_at)
        info = await consumer_info(broker)
    assert ran_at[0] >= sent_at + 2 - 0.05
    assert info.num_ack_pending == 0


async def test_manual_ack_unacked_message_is_released_on_shutdown(
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    first = make_broker(nats_url, names)
    started: list[str] = []

    @first.task(task_name="keeps")
    async def keeps() -> None:
        started.append("first")

    async with run_worker(first, ack_type=AcknowledgeType.MANUAL):
        await keeps.kiq()
        await eventually(lambda: started)
    second = make_broker(nats_url, names, ack_wait=30.0)
    second.register_task(lambda: started.append("second"), task_name="keeps")
    async with run_worker(second):
        await eventually(lambda: len(started) >= 2, timeout=10)
    assert started == ["first", "second"]


async def test_delivery_dropped_unsettled_is_nacked_and_redelivered(
    nats_url: str,
    names: Any,
) -> None:
    """A receiver that lets go of a delivery without ack/reject must not strand it."""
    broker = make_broker(nats_url, names, ack_wait=30.0, nak_backoff=0.2)
    broker.register_task(lambda: None, task_name="dropped")
    await broker.startup()
    try:
        await broker.find_task("dropped").kiq()
        stream = broker.listen()
        first = await asyncio.wait_for(stream.__anext__(), 20)
        payload = first.data
        del first  # dropped unsettled, as after a failed result store
        again = await asyncio.wait_for(stream.__anext__(), 20)
        assert again.data == payload
        await again.ack()
        info = await consumer_info(broker)
        assert info.num_ack_pending == 0
    finally:
        await broker.shutdown()


async def test_custom_stream_config_is_used(
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    stream = names.stream("custom")
    config = StreamConfig(name=stream, max_age=3600.0)
    broker = make_broker(nats_url, names, stream_config=config, max_deliver=2)
    runs: list[str] = []
    broker.register_task(runs.append, task_name="custom")
    async with run_worker(broker):
        await broker.find_task("custom").kiq("ok")
        await eventually(lambda: runs == ["ok"])
        client = await nats.connect(nats_url)
        info = await client.jetstream().stream_info(stream)
        await client.close()
    assert broker.stream_name == stream
    assert info.config.subjects == [broker.subject]
    assert info.config.max_age == 3600.0
    assert broker.dead_letters.stream_name == f"{stream}_dead_letters"


def _count_fetched(broker: Any) -> list[int]:
    """Record how many messages each pull request of ``broker`` brought."""
    fetched: list[int] = []
    original = broker._fetch

    async def counting(subscription: Any) -> Any:
        batch = await original(subscription)
        fetched.append(len(batch))
        return batch

    broker._fetch = counting
    return fetched


@pytest.mark.parametrize("kind", [JetStreamBroker, PullBasedJetStreamBroker])
async def test_a_pull_worker_fetches_only_what_its_receiver_has_room_for(
    kind: type[BaseJetStreamBroker],
    nats_url: str,
    names: Any,
    run_worker: Any,
    eventually: Any,
) -> None:
    sender = make_broker(nats_url, names, kind)
    broker = make_broker(nats_url, names, kind)
    started: list[int] = []
    release = asyncio.Event()

    @broker.task(task_name="hold")
    async def hold(number: int) -> int:
        started.append(number)
        await release.wait()
        return number

    await sender.startup()  # queue all ten before the worker starts
    for number in range(10):
        await AsyncKicker("hold", sender, {}).kiq(number)
    await sender.shutdown()
    fetched = _count_fetched(broker)
    async with run_worker(broker, max_async_tasks=2, max_prefetch=1):
        await eventually(lambda: len(started) == 2)
        assert next(n for n in fetched if n) == 3, "the first fetch takes the room in one go"
        info = await consumer_info(broker)
        # 2 running + 1 waiting for a slot; the other 7 stay on the server.
        assert info.num_ack_pending == 3
        assert info.num_pending == 7
        release.set()
        await eventually(lambda: len(started) == 10)
    assert sorted(started) == list(range(10))

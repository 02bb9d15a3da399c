"""Events in the core: the contract on the in-memory backend, the publisher, the switches."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from taskiq import DummyResultBackend, InMemoryBroker, NotSupportedError, events_of
from taskiq.cli.ops.events import line
from taskiq.cli.worker.args import WorkerArgs
from taskiq.cli.worker.heartbeat import Heartbeat
from taskiq.control.event_buffer import BufferedEventStream
from taskiq.control.event_publisher import EventPublisher, publisher_of
from taskiq.control.events import Event, EventKind
from taskiq.control.workers import WorkerId
from taskiq.testing.events_contract import EventsContract, event, take


class TestInmemoryEvents(EventsContract):
    @pytest.fixture
    async def broker(self) -> AsyncIterator[InMemoryBroker]:
        broker = InMemoryBroker()
        await broker.startup()
        yield broker
        await broker.shutdown()


def test_an_event_survives_its_json_form() -> None:
    sent = event(EventKind.TASK_RETRIED, attempt=2, error="ValueError: x")
    assert Event.from_json(sent.to_bytes()) == sent
    assert sent.to_json()["kind"] == "task-retried"
    assert EventKind.TASK_RETRIED.is_task
    assert not EventKind.WORKER_ONLINE.is_task


@pytest.mark.parametrize("raw", [b"not json", b'{"kind": "task-exploded", "time": "x"}', b"[]"])
def test_something_that_is_not_an_event_reads_as_none(raw: bytes) -> None:
    assert Event.read(raw) is None


def test_a_backend_without_events_says_so() -> None:
    broker = InMemoryBroker().with_result_backend(DummyResultBackend())
    with pytest.raises(NotSupportedError, match="Events are not supported by DummyResultBackend"):
        events_of(broker)
    assert publisher_of(broker) is None


async def test_a_broker_with_events_off_publishes_none() -> None:
    broker = InMemoryBroker().with_events(False)

    @broker.task(task_name="events-off:noop")
    async def noop() -> None:
        pass

    await broker.startup()
    assert publisher_of(broker) is None
    async with await events_of(broker).subscribe() as stream:
        await (await noop.kiq()).wait_result(timeout=10)
        assert isinstance(stream, BufferedEventStream)
        assert len(stream._events) == 0
    await broker.shutdown()


async def test_a_publisher_drops_events_until_it_asks_again() -> None:
    feed = events_of(InMemoryBroker())
    publisher = EventPublisher(feed, check_interval=3600)
    publisher.emit(event())
    await publisher.flush()  # asked: nobody listens, and it will not ask again for an hour
    async with await feed.subscribe() as stream:
        publisher.emit(event())
        await publisher.flush()
        assert isinstance(stream, BufferedEventStream)
        assert len(stream._events) == 0


async def test_a_kiq_on_the_inmemory_broker_shows_in_the_feed() -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="events:add")
    async def add(a: int, b: int) -> int:
        return a + b

    await broker.startup()
    async with await events_of(broker).subscribe() as stream:
        task = await add.kiq(1, 2)
        await task.wait_result(timeout=10)
        got = await take(stream, 3, lambda item: item.task_id == task.task_id)
    assert [item.kind for item in got] == [
        EventKind.TASK_RECEIVED,
        EventKind.TASK_STARTED,
        EventKind.TASK_SUCCEEDED,
    ]
    await broker.shutdown()


async def test_the_heartbeat_announces_online_and_offline() -> None:
    broker = InMemoryBroker()
    await broker.startup()
    args = WorkerArgs(broker="app:broker", heartbeat_interval=0.05, max_async_tasks=7)
    async with await events_of(broker).subscribe() as stream:
        beat = Heartbeat.start(broker, args, slot=5)
        await asyncio.sleep(0)
        await beat.stop()
        got = await take(stream, 2, lambda item: not item.kind.is_task)
    assert [item.kind for item in got] == [EventKind.WORKER_ONLINE, EventKind.WORKER_OFFLINE]
    assert got[0].worker is not None
    assert got[0].worker.index == 5
    assert got[0].extra == {"queues": [], "concurrency": 7}
    await broker.shutdown()


def _events_cli(tmp_path: Path, source: str, *options: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "events_app.py").write_text(textwrap.dedent(source))
    command = [sys.executable, "-m", "taskiq", "events", "events_app:broker"]
    return subprocess.run(
        [*command, "--app-dir", str(tmp_path), *options],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_taskiq_events_exits_2_when_the_backend_cannot(tmp_path: Path) -> None:
    result = _events_cli(
        tmp_path,
        """
        from taskiq import DummyResultBackend, InMemoryBroker
        broker = InMemoryBroker().with_result_backend(DummyResultBackend())
        """,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], "one line, no traceback"
    assert "Events are not supported by DummyResultBackend" in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--kind", "task-exploded"), "unknown event kind 'task-exploded'"),
        (("--count", "-1"), "--count must be 0 (no limit) or more"),
    ],
)
def test_taskiq_events_rejects_bad_options_in_one_line(
    tmp_path: Path, options: tuple[str, ...], message: str
) -> None:
    result = _events_cli(
        tmp_path, "from taskiq import InMemoryBroker\nbroker = InMemoryBroker()\n", *options
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], "one line, no traceback"
    assert message in result.stderr


def test_an_event_line_names_the_task_the_worker_and_the_details() -> None:
    sent = Event(
        kind=EventKind.TASK_FAILED,
        time=datetime.datetime(2026, 12, 2, 12, 0, 1, 250000, tzinfo=datetime.timezone.utc),
        task_id="abc",
        task_name="add",
        worker=WorkerId("box", 7, 0),
        extra={"duration": 0.5, "error": "ValueError: x"},
    )
    assert line(sent) == (
        "12:00:01.250 task-failed        add [abc] on box:7 #0 duration=0.500s error=ValueError: x"
    )

"""The dead-letter contract suite: one set of tests every `DeadLetterStore` must pass.

A broker package subclasses `DeadLetterContract` in its tests and overrides
the ``broker`` fixture (a started broker on a queue nobody else uses, with
``broker.listen()`` consuming that queue), and where it can:

- ``other_queue``: a second queue, for ``replay(..., to_queue=...)``;
- ``worker_app``: the source of a module whose ``broker`` consumes the same
  queue, so that a real ``taskiq worker`` process is checked to log each dead
  letter once;
- ``documented_fragments``: the docs fragments about its dead letters, each run
  as written against the ``broker``.

Tests whose fixture is not overridden are skipped. The suite makes dead letters
the way a worker does: it sends messages, takes the deliveries from
``broker.listen()`` and lets a `Receiver` (or the delivery's own
``dead_letter`` callback) dead-letter them.
"""

from __future__ import annotations

import asyncio
import datetime
import inspect
import logging
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from taskiq_dependencies import Depends as TaskiqDepends

from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage
from taskiq.context import Context
from taskiq.control.dead_letter_reasons import REJECTED_BY_TASK, ReasonKind, unknown_task
from taskiq.control.dead_letters import DeadLetter, DeadLetterStore, dead_letters_of
from taskiq.message import BrokerMessage, TaskiqMessage
from taskiq.receiver import Receiver
from taskiq.testing.snippets import run_fragment

#: Seconds any one wait of the suite may take before the test fails.
DEADLINE = 30.0
#: The task name of the messages the suite dead-letters (never registered).
UNKNOWN = "contract:nope"
#: An id no store holds (stores treat ids they cannot parse as absent).
MISSING_ID = "no-such-dead-letter"


#: Appended to a broker's ``worker_app`` source: the task that refuses its message.
REFUSING_TASK = """

from taskiq import Context, TaskiqDepends


@broker.task(task_name="contract:refuses")
async def refuses(context: Context = TaskiqDepends()) -> None:
    context.reject()
"""


@dataclass
class OtherQueue:
    """A second queue for ``replay(..., to_queue=name)``: its name and a broker consuming it."""

    name: str
    broker: AsyncBroker


def message_for(broker: AsyncBroker, task_name: str = UNKNOWN) -> BrokerMessage:
    """A task message as ``kiq`` would send it (with a fresh task id)."""
    task_id = uuid.uuid4().hex
    return broker.formatter.dumps(
        TaskiqMessage(task_id=task_id, task_name=task_name, labels={}, args=[], kwargs={}),
    )


@asynccontextmanager
async def taken(broker: AsyncBroker, count: int) -> AsyncIterator[list[AckableMessage]]:
    """The next ``count`` deliveries of ``broker.listen()`` (fails after `DEADLINE`).

    Settle them inside the block: on some brokers (RabbitMQ) a delivery can be
    settled only while the listener that received it is open.
    """
    iterator = broker.listen()
    deliveries: list[AckableMessage] = []
    try:
        while len(deliveries) < count:
            delivery = await asyncio.wait_for(iterator.__anext__(), DEADLINE)
            assert isinstance(delivery, AckableMessage), "a dead-lettering broker must ack"
            deliveries.append(delivery)
        yield deliveries
    finally:
        await iterator.aclose()


async def settle(outcome: Any) -> None:
    """Await a settle callback's result when it is awaitable."""
    if inspect.isawaitable(outcome):
        await outcome


async def eventually(probe: Callable[[], Any], expected: Any) -> None:
    """Poll the coroutine function ``probe`` until it returns ``expected``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    last = None
    while loop.time() < end:
        last = await probe()
        if last == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected!r}, still {last!r} after {DEADLINE} s")


class DeadLetterContract:
    """Subclass and override ``broker`` (and the optional fixtures) to test a broker."""

    @pytest.fixture
    def broker(self) -> AsyncBroker:
        """A started broker on a fresh queue; override in the broker's test module."""
        raise NotImplementedError("override the `broker` fixture")

    @pytest.fixture
    def other_queue(self) -> OtherQueue:
        """A second queue replays can go to; override where the broker has one."""
        pytest.skip("this broker's contract test does not provide a second queue")

    @pytest.fixture
    def worker_app(self) -> str:
        """Source of a module defining ``broker``, consuming the ``broker`` fixture's queue."""
        pytest.skip("this broker's contract test does not provide a worker app")

    @pytest.fixture
    def documented_fragments(self) -> list[tuple[str, str]]:
        """(where, code) of every docs fragment about this broker's dead letters."""
        return []

    @pytest.fixture
    def store(self, broker: AsyncBroker) -> DeadLetterStore:
        """The store under test, found the way operator tools find it."""
        return dead_letters_of(broker)

    # -- helpers -------------------------------------------------------------

    async def dead_letter(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
        count: int,
        reason: str = "contract test",
    ) -> list[BrokerMessage]:
        """Send ``count`` messages and dead-letter each with ``reason``; oldest first."""
        sent = [message_for(broker) for _ in range(count)]
        before = await store.count()
        for message in sent:
            await broker.kick(message)
        async with taken(broker, count) as deliveries:
            for delivery in deliveries:
                assert delivery.dead_letter is not None, "deliveries must offer dead_letter"
                await settle(delivery.dead_letter(reason))
        await eventually(store.count, before + count)
        return sent

    async def all_letters(self, store: DeadLetterStore, limit: int = 100) -> list[DeadLetter]:
        """Every dead letter, reading page after page."""
        letters: list[DeadLetter] = []
        cursor: str | None = None
        while True:
            page = await store.list(limit=limit, cursor=cursor)
            letters.extend(page.letters)
            if page.next_cursor is None:
                return letters
            assert page.letters, "a page before the last one must not be empty"
            cursor = page.next_cursor

    # -- the contract --------------------------------------------------------

    async def test_an_empty_store(self, store: DeadLetterStore) -> None:
        page = await store.list()
        assert (await store.count(), page.letters, page.next_cursor) == (0, (), None)

    async def test_a_dead_letter_says_what_and_why(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
    ) -> None:
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        [sent] = await self.dead_letter(broker, store, 1, reason=unknown_task(UNKNOWN))
        [letter] = (await store.list()).letters
        assert isinstance(letter, DeadLetter)
        assert (letter.task_id, letter.task_name) == (sent.task_id, sent.task_name)
        assert letter.reason == "unknown task 'contract:nope'"
        assert letter.kind is ReasonKind.UNKNOWN_TASK
        assert letter.message == sent.message
        assert isinstance(letter.id, str)
        assert letter.id
        assert isinstance(letter.queue, str)
        assert letter.queue
        assert letter.delivery_count is None or letter.delivery_count >= 1
        assert letter.time is not None
        assert letter.time.utcoffset() == datetime.timedelta(0)
        assert before < letter.time < before + datetime.timedelta(minutes=10)

    async def test_pages_are_oldest_first_and_cover_everything(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
    ) -> None:
        sent = await self.dead_letter(broker, store, 5)
        first = await store.list(limit=2)
        assert len(first.letters) == 2
        assert first.next_cursor is not None
        letters = await self.all_letters(store, limit=2)
        assert [letter.task_id for letter in letters] == [m.task_id for m in sent]
        assert len({letter.id for letter in letters}) == 5
        assert await store.count() == 5

    async def test_replay_some_sends_them_back_and_removes_them(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
    ) -> None:
        sent = await self.dead_letter(broker, store, 3)
        letters = await self.all_letters(store)
        assert await store.replay([letters[1].id, MISSING_ID]) == 1
        assert await store.count() == 2
        assert [ltr.task_id for ltr in await self.all_letters(store)] == [
            sent[0].task_id,
            sent[2].task_id,
        ]
        async with taken(broker, 1) as [again]:
            assert again.data == sent[1].message
            await settle(again.ack())
        assert await store.replay([MISSING_ID]) == 0

    async def test_replay_all_replays_each_once(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
    ) -> None:
        sent = await self.dead_letter(broker, store, 3)
        assert await store.replay_all() == 3
        assert await store.count() == 0
        async with taken(broker, 3) as back:
            assert sorted(d.data for d in back) == sorted(m.message for m in sent)
            for delivery in back:
                await settle(delivery.ack())

    async def test_replay_to_another_queue(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
        other_queue: OtherQueue,
    ) -> None:
        sent = await self.dead_letter(broker, store, 2)
        first = (await store.list()).letters[0]
        assert await store.replay([first.id], to_queue=other_queue.name) == 1
        assert await store.replay_all(to_queue=other_queue.name) == 1
        assert await store.count() == 0
        async with taken(other_queue.broker, 2) as back:
            assert sorted(d.data for d in back) == sorted(m.message for m in sent)
            for delivery in back:
                await settle(delivery.ack())

    async def test_delete_some_and_all(self, broker: AsyncBroker, store: DeadLetterStore) -> None:
        sent = await self.dead_letter(broker, store, 4)
        letters = await self.all_letters(store)
        assert await store.delete([letters[0].id, letters[2].id, MISSING_ID]) == 2
        assert [ltr.task_id for ltr in await self.all_letters(store)] == [
            sent[1].task_id,
            sent[3].task_id,
        ]
        assert await store.delete_all() == 2
        assert await store.count() == 0
        assert await store.delete_all() == 0

    async def test_the_worker_dead_letters_with_the_reason_and_logs_it_once(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        def refuses(context: Context = TaskiqDepends()) -> None:
            context.reject()

        broker.register_task(refuses, task_name="contract:refuses")
        unknown, refused = message_for(broker), message_for(broker, "contract:refuses")
        garbage = BrokerMessage(task_id="x", task_name="x", message=b"\xff not a task", labels={})
        for message in (unknown, refused, garbage):
            await broker.kick(message)
        receiver = Receiver(broker)
        with caplog.at_level(logging.DEBUG):
            async with taken(broker, 3) as deliveries:
                for delivery in deliveries:
                    await receiver.callback(delivery)
            await eventually(store.count, 3)
        letters = {letter.message: letter for letter in await self.all_letters(store)}
        assert letters[unknown.message].reason == "unknown task 'contract:nope'"
        assert letters[refused.message].reason == REJECTED_BY_TASK
        assert letters[garbage.message].kind is ReasonKind.MALFORMED
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        dead = [r.getMessage() for r in warnings if r.getMessage().startswith("Dead-lettered")]
        assert len(dead) == 3, [r.getMessage() for r in warnings]
        assert [r for r in warnings if r.levelno >= logging.ERROR] == []
        for letter in letters.values():
            assert sum(letter.reason in line for line in dead) >= 1

    async def test_a_worker_process_logs_each_dead_letter_once(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
        worker_app: str,
        tmp_path: Path,
    ) -> None:
        """``taskiq worker`` logs one WARNING per dead letter, with the stored reason."""
        (tmp_path / "contract_app.py").write_text(worker_app + REFUSING_TASK)
        log = tmp_path / "worker.log"
        with log.open("wb") as output:
            worker = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "taskiq",
                "worker",
                "contract_app:broker",
                "--workers",
                "1",
                cwd=tmp_path,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            unknown, refused = message_for(broker), message_for(broker, "contract:refuses")
            garbage = BrokerMessage(task_id="g", task_name="g", message=b"\xff junk", labels={})
            for message in (unknown, refused, garbage):
                await broker.kick(message)
            await eventually(store.count, 3)

            async def logged() -> int:
                return log.read_text().count("Dead-lettered")

            await eventually(logged, 3)
        finally:
            await _stop(worker)
        text = log.read_text()
        reasons = sorted(letter.reason for letter in await self.all_letters(store))
        lines = [line for line in text.splitlines() if "Dead-lettered" in line]
        assert len(lines) == 3, text
        assert all("WARNING" in line for line in lines), text
        for reason in reasons:
            assert sum(reason in line for line in lines) == 1, (reason, text)
        assert "unknown task 'contract:nope'" in reasons
        assert REJECTED_BY_TASK in reasons
        assert "Dropped a delivery" not in text
        assert "Traceback" not in text

    async def test_the_documented_examples_run(
        self,
        broker: AsyncBroker,
        store: DeadLetterStore,
        documented_fragments: list[tuple[str, str]],
    ) -> None:
        """Each fragment lists, deletes one, replays the rest: the store ends up empty."""
        if not documented_fragments:
            pytest.skip("no documented dead-letter examples for this broker")
        for where, code in documented_fragments:
            sent = await self.dead_letter(broker, store, 3, reason=unknown_task(UNKNOWN))
            printed = await run_fragment(code, where, broker=broker)
            assert "3 dead letters" in printed, where
            assert "unknown task 'contract:nope'" in printed, where
            assert await store.count() == 0, where
            async with taken(broker, 2) as back:
                assert sorted(d.data for d in back) == sorted(m.message for m in sent[1:]), where
                for delivery in back:
                    await settle(delivery.ack())


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if the worker does not exit within `DEADLINE`."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), DEADLINE)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()


__all__ = ["DeadLetterContract", "OtherQueue", "message_for", "taken"]

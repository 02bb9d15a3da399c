"""The worker's wrapper around the broker's stream: fetch limit, the fetch budget, sure
cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from recording_broker import RecordingBroker
from taskiq import AckableMessage, AsyncBroker, BrokerMessage, Receiver
from taskiq.api import run_receiver_task
from taskiq.cli.worker.fetching import steady_source
from taskiq.fetch_budget import UNBOUNDED, FetchBudget, listen_within


class ScriptedBroker(AsyncBroker):
    """``listen`` yields ``items`` then, optionally, waits losing the first cancellation."""

    def __init__(self, items: list[bytes], stubborn: bool = False) -> None:
        super().__init__()
        self.items = items
        self.stubborn = stubborn
        self.closed = False
        self.swallowed = 0

    async def kick(self, message: BrokerMessage) -> None:
        raise NotImplementedError

    async def listen(self) -> AsyncGenerator[bytes, None]:
        try:
            for item in self.items:
                yield item
            while True:
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    if not self.stubborn or self.swallowed:
                        raise
                    self.swallowed += 1  # like redis-py on Python 3.11
        finally:
            self.closed = True


async def test_the_stream_ends_after_the_limit_and_says_so_once() -> None:
    broker = ScriptedBroker([b"1", b"2", b"3", b"4"])
    announced: list[str] = []
    source = steady_source(limit=2, on_limit=lambda: announced.append("limit"))
    received = [item async for item in source(broker, UNBOUNDED)]
    assert received == [b"1", b"2"]
    assert announced == ["limit"]
    assert broker.closed
    assert "listen" not in vars(broker)  # the broker is left as it is


async def test_receiver_stops_although_the_driver_loses_a_cancellation() -> None:
    broker = ScriptedBroker([], stubborn=True)
    finish = asyncio.Event()
    listening = asyncio.create_task(Receiver(broker).listen(finish))
    await asyncio.sleep(0.05)
    finish.set()
    await asyncio.wait_for(listening, 10)
    assert broker.swallowed == 1
    assert broker.closed


async def test_run_receiver_task_stops_although_the_driver_loses_a_cancellation() -> None:
    broker = ScriptedBroker([], stubborn=True)
    worker = asyncio.create_task(run_receiver_task(broker))
    await asyncio.sleep(0.05)
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(worker, 10)
    assert broker.swallowed == 1


class RoomRecordingBroker(RecordingBroker):
    """Replays what was sent, noting the receiver's room before each delivery."""

    def __init__(self) -> None:
        super().__init__()
        self.rooms: list[int | None] = []
        self.three_fetched = asyncio.Event()

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        for message in self.sent:
            self.rooms.append(self.delivery_room())
            if len(self.rooms) == 3:
                self.three_fetched.set()
            yield message.message


async def test_a_broker_is_told_how_many_deliveries_the_receiver_has_room_for() -> None:
    broker = RoomRecordingBroker()
    release = asyncio.Event()

    @broker.task
    async def hold() -> None:
        await release.wait()

    for _ in range(4):
        await hold.kiq()
    receiver = Receiver(broker, max_async_tasks=2, max_prefetch=1)
    listening = asyncio.create_task(receiver.listen(asyncio.Event()))
    await asyncio.wait_for(broker.three_fetched.wait(), 10)
    await asyncio.sleep(0.05)  # a fourth fetch, were there room, would happen now
    assert broker.rooms == [3, 2, 1]  # 2 slots + 1 prefetch, shrinking as they fill
    release.set()
    await asyncio.wait_for(listening, 10)
    assert len(broker.rooms) == 4
    assert broker.delivery_room() is None  # no bound once nobody listens


async def test_deliveries_a_broker_already_holds_start_in_the_same_loop_turn() -> None:
    """So that their tasks finish, store and settle together (brokers batch those)."""
    broker = RecordingBroker()
    turn = 0
    started_in: list[int] = []

    @broker.task
    async def note() -> None:
        started_in.append(turn)

    async def count_turns() -> None:
        nonlocal turn
        while True:
            turn += 1
            await asyncio.sleep(0)

    for _ in range(5):
        await note.kiq()
    ticker = asyncio.create_task(count_turns())
    await asyncio.wait_for(Receiver(broker, max_async_tasks=10).listen(asyncio.Event()), 10)
    ticker.cancel()
    assert len(started_in) == 5
    assert len(set(started_in)) == 1, started_in


async def test_a_child_near_its_task_limit_lets_brokers_fetch_only_what_is_left() -> None:
    """--max-tasks-per-child: a batch read never takes tasks the child will not run."""
    broker = RoomRecordingBroker()

    @broker.task
    async def quick() -> None:
        return None

    for _ in range(5):
        await quick.kiq()
    receiver = Receiver(broker, max_async_tasks=10)
    receiver.stream_source = steady_source(limit=3)
    await asyncio.wait_for(receiver.listen(asyncio.Event()), 10)
    assert broker.rooms == [3, 2, 1]
    assert broker.delivery_room() is None


class BudgetBroker(RecordingBroker):
    """Reads the budget it is given (as brokers that fetch in batches do)."""

    def __init__(self) -> None:
        super().__init__()
        self.rooms: list[int | None] = []

    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        return self.listen_with_budget(UNBOUNDED)

    async def listen_with_budget(
        self, budget: FetchBudget
    ) -> AsyncGenerator[bytes | AckableMessage, None]:
        for message in self.sent:
            self.rooms.append(budget.room())
            yield message.message


async def test_a_budget_aware_broker_reads_the_budget_it_is_given() -> None:
    broker = BudgetBroker()

    @broker.task
    async def quick() -> None:
        return None

    for _ in range(5):
        await quick.kiq()
    receiver = Receiver(broker, max_async_tasks=10)
    receiver.stream_source = steady_source(limit=3)
    await asyncio.wait_for(receiver.listen(asyncio.Event()), 10)
    assert broker.rooms == [3, 2, 1]
    assert broker.delivery_room() is None, "no side channel is set for it"
    assert [item async for item in broker.listen()] == [m.message for m in broker.sent]
    assert broker.rooms[3:] == [None] * 5, "listen() alone is unbounded"


async def test_an_override_of_listen_below_a_budget_aware_broker_is_not_bypassed() -> None:
    class Wrapped(BudgetBroker):
        async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
            yield b"wrapped"

    broker = Wrapped()
    budget = FetchBudget(lambda: 7)
    assert [item async for item in listen_within(broker, budget)] == [b"wrapped"]
    patched = BudgetBroker()

    async def instance_listen() -> AsyncGenerator[bytes, None]:
        yield b"patched"

    patched.listen = instance_listen  # type: ignore[method-assign]
    assert [item async for item in listen_within(patched, budget)] == [b"patched"]


def test_a_budget_caps_a_batch_and_a_limit_caps_the_budget() -> None:
    assert UNBOUNDED.room() is None
    assert UNBOUNDED.capped(50) == 50
    three = FetchBudget(lambda: 3)
    assert three.capped(50) == 3
    assert three.capped(0) == 1
    assert three.within(lambda: 2).room() == 2
    assert UNBOUNDED.within(lambda: 0).room() == 1, "never asks for nothing"

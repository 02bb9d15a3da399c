"""The worker's wrapper around ``broker.listen()``: fetch limit and sure cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest
from taskiq import AsyncBroker, BrokerMessage, Receiver
from taskiq.api import run_receiver_task
from taskiq.cli.worker.fetching import steady_listen


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
    with steady_listen(broker, limit=2, on_limit=lambda: announced.append("limit")):
        received = [item async for item in broker.listen()]
    assert received == [b"1", b"2"]
    assert announced == ["limit"]
    assert broker.closed
    assert "listen" not in vars(broker)  # the broker's own listen is back


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

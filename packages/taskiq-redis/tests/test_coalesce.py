"""TurnBatcher: what is submitted in one event-loop turn goes out in one call."""

from __future__ import annotations

import asyncio

import pytest
from taskiq_redis.coalesce import TurnBatcher


class Recorder:
    """A ``send`` that records each call's items, failing while ``failing`` is set."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.failing: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.called = asyncio.Event()

    async def __call__(self, items: list[int]) -> None:
        self.calls.append(items)
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failing is not None:
            raise self.failing


async def test_items_of_one_turn_are_sent_in_one_call_and_later_turns_in_another() -> None:
    send = Recorder()
    batcher = TurnBatcher(send)
    await asyncio.gather(*(batcher.submit(i) for i in range(30)))
    await batcher.submit(99)
    assert send.calls == [list(range(30)), [99]]


async def test_a_large_turn_is_split_into_calls_of_at_most_max_batch() -> None:
    send = Recorder()
    batcher = TurnBatcher(send, max_batch=4)
    await asyncio.gather(*(batcher.submit(i) for i in range(10)))
    assert send.calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


async def test_every_submitter_of_a_failed_call_gets_its_error_and_can_retry() -> None:
    send = Recorder()
    send.failing = ConnectionError("down")
    batcher = TurnBatcher(send)
    outcomes = await asyncio.gather(*(batcher.submit(i) for i in range(3)), return_exceptions=True)
    assert [type(outcome) for outcome in outcomes] == [ConnectionError] * 3
    send.failing = None
    await asyncio.gather(*(batcher.submit(i) for i in range(3)))
    assert send.calls == [[0, 1, 2], [0, 1, 2]]


async def test_items_submitted_while_a_call_is_in_flight_form_the_next_batch() -> None:
    send = Recorder()
    send.gate = asyncio.Event()
    batcher = TurnBatcher(send)
    first = asyncio.gather(*(batcher.submit(i) for i in range(2)))
    await send.called.wait()  # the first call is in flight
    second = asyncio.gather(*(batcher.submit(i) for i in range(5, 7)))
    await asyncio.sleep(0)
    send.gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert send.calls == [[0, 1], [5, 6]]


async def test_a_cancelled_submitter_does_not_disturb_the_others() -> None:
    send = Recorder()
    send.gate = asyncio.Event()
    batcher = TurnBatcher(send)
    doomed = asyncio.ensure_future(batcher.submit(1))
    kept = asyncio.ensure_future(batcher.submit(2))
    await send.called.wait()
    doomed.cancel()
    send.gate.set()
    await asyncio.wait_for(kept, 10)
    with pytest.raises(asyncio.CancelledError):
        await doomed
    assert send.calls == [[1, 2]]


async def test_submitters_do_not_hang_when_the_sender_is_cancelled() -> None:
    send = Recorder()
    send.gate = asyncio.Event()  # never set: the call hangs until cancelled
    batcher = TurnBatcher(send)
    waiting = asyncio.ensure_future(batcher.submit(1))
    await send.called.wait()
    for sender in list(batcher._sending):
        sender.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, 10)

"""Unique tasks, rate limits and concurrency limits on the in-memory broker."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from taskiq import InMemoryBroker
from taskiq.control.pacing import InmemoryPaceStore, PaceStore
from taskiq.control.task_options import parse_rate
from taskiq.exceptions import SendTaskError
from taskiq.middlewares.task_control import TaskControlMiddleware
from taskiq.testing.pace_contract import PaceContract


@pytest.fixture
async def broker() -> AsyncIterator[InMemoryBroker]:
    broker = InMemoryBroker(await_inplace=False)
    await broker.startup()
    yield broker
    await broker.shutdown()


class TestInmemoryPacing(PaceContract):
    @pytest.fixture
    def pace_store(self) -> PaceStore:
        return InmemoryPaceStore()


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [("100/s", 100, 1.0), ("20/m", 20, 60.0), ("1000/h", 1000, 3600.0), ("5/10s", 5, 10.0)],
)
def test_rate_strings(text: str, count: int, period: float) -> None:
    rate = parse_rate(text)
    assert (rate.count, rate.period) == (count, period)


@pytest.mark.parametrize("bad", ["", "10", "0/s", "ten/s", "5/y", "-1/s", 5])
def test_a_bad_rate_string_fails_at_declaration(broker: InMemoryBroker, bad: Any) -> None:
    with pytest.raises(ValueError, match="Task 'bad_rate': Bad rate_limit"):

        @broker.task(task_name="bad_rate", rate_limit=bad)
        async def task() -> None: ...


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ({"concurrency": 0}, "concurrency must be an int >= 1"),
        ({"concurrency": "5"}, "concurrency must be an int >= 1"),
        ({"unique": True, "unique_until": "done"}, "unique_until must be one of"),
        ({"unique": True, "unique_ttl": -1}, "unique_ttl must be a number"),
        ({"unique_key": 5}, "unique_key must be a function"),
    ],
)
def test_bad_options_fail_at_declaration(
    broker: InMemoryBroker, labels: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        broker.register_task(lambda: None, "bad_options", **labels)


def test_a_bad_global_concurrency_fails_when_built() -> None:
    with pytest.raises(ValueError, match="global_concurrency must be an int >= 1"):
        TaskControlMiddleware(global_concurrency=0)


async def test_a_key_function_that_raises_fails_at_kiq(broker: InMemoryBroker) -> None:
    @broker.task(unique_key=lambda args, kwargs: 1 / 0)
    async def task(x: int) -> None: ...

    with pytest.raises(SendTaskError, match=r"unique_key function of task .* failed"):
        await task.kiq(1)


async def test_a_key_function_returning_a_non_string_fails_at_kiq(broker: InMemoryBroker) -> None:
    @broker.task(concurrency=1, limit_key=lambda args, kwargs: args[0])
    async def task(x: int) -> None: ...

    with pytest.raises(SendTaskError, match=r"limit_key function .* returned 1, not a string"):
        await task.kiq(1)


async def test_a_second_unique_call_sends_nothing_and_shares_the_first_result(
    broker: InMemoryBroker,
) -> None:
    runs: list[int] = []
    gate = asyncio.Event()

    @broker.task(unique=True)
    async def task(x: int, y: int = 0) -> int:
        runs.append(x)
        await gate.wait()
        return x + y

    first = await task.kiq(1)
    second = await task.kiq(x=1, y=0)  # the same call spelled another way
    other = await task.kiq(2)
    assert second.task_id == first.task_id
    assert other.task_id != first.task_id
    gate.set()
    assert (await second.wait_result(timeout=5)).return_value == 1
    await broker.wait_all()
    assert sorted(runs) == [1, 2]
    third = await task.kiq(1)  # the window closed when the first finished
    assert third.task_id != first.task_id
    await broker.wait_all()


async def test_with_unique_false_bypasses(broker: InMemoryBroker) -> None:
    gate = asyncio.Event()

    @broker.task(unique=True)
    async def task() -> None:
        await gate.wait()

    first = await task.kiq()
    second = await task.kicker().with_unique(False).kiq()
    assert second.task_id != first.task_id
    gate.set()
    await broker.wait_all()


async def test_unique_until_started_frees_the_key_once_it_runs(broker: InMemoryBroker) -> None:
    started = asyncio.Event()
    gate = asyncio.Event()

    @broker.task(unique_key=lambda args, kwargs: "k", unique_until="started")
    async def task() -> None:
        started.set()
        await gate.wait()

    first = await task.kiq()
    await asyncio.wait_for(started.wait(), 5)
    second = await task.kiq()
    assert second.task_id != first.task_id
    gate.set()
    await broker.wait_all()


async def test_concurrency_is_never_exceeded_and_keys_do_not_block_each_other(
    broker: InMemoryBroker,
) -> None:
    running: dict[str, int] = {"a": 0, "b": 0}
    peak: dict[str, int] = {"a": 0, "b": 0}

    @broker.task(concurrency=2, limit_key=lambda args, kwargs: args[0])
    async def task(key: str) -> None:
        running[key] += 1
        peak[key] = max(peak[key], running[key])
        await asyncio.sleep(0.05)
        running[key] -= 1

    handles = [await task.kiq(key) for key in "ab" * 6]
    for handle in handles:
        assert not (await handle.wait_result(timeout=20)).is_err
    assert peak == {"a": 2, "b": 2}


async def test_global_concurrency_bounds_every_task(broker: InMemoryBroker) -> None:
    broker.add_middlewares(TaskControlMiddleware(global_concurrency=1, retry_delay=(0.01, 0.05)))
    running = [0]
    peak = [0]

    async def body() -> None:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.02)
        running[0] -= 1

    one = broker.register_task(body, "one")
    two = broker.register_task(body, "two")
    handles = [await t.kiq() for t in (one, two, one, two)]
    for handle in handles:
        await handle.wait_result(timeout=20)
    assert peak == [1]


async def test_a_rate_limit_spaces_the_starts(broker: InMemoryBroker) -> None:
    starts: list[float] = []

    @broker.task(rate_limit="20/s")
    async def task() -> None:
        starts.append(time.monotonic())

    handles = [await task.kiq() for _ in range(10)]
    for handle in handles:
        await handle.wait_result(timeout=20)
    starts.sort()
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.04  # one start per 50 ms, no burst
    assert starts[-1] - starts[0] < 0.45 + 0.5

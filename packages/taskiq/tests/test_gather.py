"""gather(): many results at once, in call order, with an overall timeout."""

from __future__ import annotations

import asyncio

import pytest
from taskiq import InMemoryBroker, TaskiqResultTimeoutError, gather


async def test_results_come_back_in_call_order_not_finish_order() -> None:
    broker = InMemoryBroker()
    gates = {name: asyncio.Event() for name in ("a", "b", "c")}

    @broker.task
    async def gated(name: str) -> str:
        await gates[name].wait()
        return name

    await broker.startup()
    sent = [await gated.kiq(name) for name in ("a", "b", "c")]
    waiting = asyncio.ensure_future(gather(*sent, timeout=20))
    for name in ("c", "b", "a"):
        gates[name].set()
        await asyncio.sleep(0)
    results = await waiting
    await broker.shutdown()
    assert [result.return_value for result in results] == ["a", "b", "c"]
    assert isinstance(results, tuple)


async def test_failed_tasks_are_returned_not_raised() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def maybe_fail(fail: bool) -> bool:
        if fail:
            raise ValueError("asked to fail")
        return fail

    await broker.startup()
    ok, failed = await gather(await maybe_fail.kiq(False), await maybe_fail.kiq(True))
    await broker.shutdown()
    assert (ok.is_err, ok.return_value) == (False, False)
    assert failed.is_err
    assert isinstance(failed.error, ValueError)


async def test_timeout_covers_the_whole_wait() -> None:
    broker = InMemoryBroker()
    release = asyncio.Event()

    @broker.task
    async def gated() -> None:
        await release.wait()

    @broker.task
    async def quick() -> int:
        return 1

    await broker.startup()
    sent = [await quick.kiq(), await gated.kiq()]
    with pytest.raises(TaskiqResultTimeoutError):
        await gather(*sent, timeout=0.05, periodicity=0.01)
    release.set()
    await broker.shutdown()


async def test_gather_of_nothing_is_empty() -> None:
    assert await gather() == ()

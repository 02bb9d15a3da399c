"""InMemoryBroker: the test stub that runs tasks on the worker's receiver path."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from taskiq import InMemoryBroker, TaskiqDepends, TaskiqEvents, TaskiqState, UnknownTaskError
from taskiq.exceptions import ListenError

DEADLINE = 20.0


async def test_await_inplace_has_the_result_when_kiq_returns() -> None:
    broker = InMemoryBroker(await_inplace=True)

    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b

    handle = await add.kiq(1, "2")  # type: ignore[arg-type]
    assert await handle.is_ready()
    assert (await handle.get_result()).return_value == 3


async def test_wait_all_waits_for_tasks_and_the_tasks_they_send() -> None:
    broker = InMemoryBroker()
    done: list[str] = []

    @broker.task
    async def child() -> None:
        await asyncio.sleep(0.01)
        done.append("child")

    @broker.task
    async def parent() -> None:
        await child.kiq()
        done.append("parent")

    await parent.kiq()
    await broker.wait_all()
    assert sorted(done) == ["child", "parent"]


async def test_wait_all_reraises_task_errors_on_request() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def fail(number: int) -> None:
        raise ValueError(f"failure {number}")

    await fail.kiq(1)
    await broker.wait_all()  # default: errors stay in the results
    await fail.kiq(2)
    with pytest.raises(ValueError, match="failure 2"):
        await broker.wait_all(raise_errors=True)
    await broker.wait_all(raise_errors=True)  # the error was reported once


async def test_startup_fires_worker_then_client_events_and_shutdown_both() -> None:
    broker = InMemoryBroker()
    events: list[str] = []
    for event in TaskiqEvents:
        broker.add_event_handler(event, lambda state, name=event.value: events.append(name))
    await broker.startup()
    await broker.shutdown()
    assert events == ["WORKER_STARTUP", "CLIENT_STARTUP", "WORKER_SHUTDOWN", "CLIENT_SHUTDOWN"]


async def test_state_set_at_worker_startup_reaches_tasks() -> None:
    broker = InMemoryBroker()

    @broker.on_event(TaskiqEvents.WORKER_STARTUP)
    async def open_pool(state: TaskiqState) -> None:
        state.pool = "pool"

    @broker.task
    async def use(state: TaskiqState = TaskiqDepends()) -> str:
        return str(state.pool)

    await broker.startup()
    assert (await (await use.kiq()).wait_result(timeout=DEADLINE)).return_value == "pool"
    await broker.shutdown()


async def test_broker_restarts_after_shutdown_with_a_new_thread_pool() -> None:
    broker = InMemoryBroker()

    @broker.task
    def thread_name() -> str:
        return threading.current_thread().name

    for _ in range(2):
        await broker.startup()
        result = await (await thread_name.kiq()).wait_result(timeout=DEADLINE)
        assert not result.is_err, result.error
        await broker.shutdown()
    # Sending again without startup() still runs sync tasks.
    result = await (await thread_name.kiq()).wait_result(timeout=DEADLINE)
    assert not result.is_err, result.error
    await broker.shutdown()


async def test_max_async_tasks_bounds_background_tasks() -> None:
    broker = InMemoryBroker(max_async_tasks=2)
    running = 0
    peak = 0
    gate = asyncio.Event()

    @broker.task
    async def held() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    for _ in range(5):
        await held.kiq()
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while running < 2:
        assert loop.time() < end
        await asyncio.sleep(0.005)
    for _ in range(50):
        await asyncio.sleep(0)
    assert running == 2
    gate.set()
    await broker.wait_all()
    assert peak == 2


async def test_sync_tasks_use_a_pool_of_the_given_size() -> None:
    broker = InMemoryBroker(sync_tasks_pool_size=2)
    barrier = threading.Barrier(2, timeout=DEADLINE)

    @broker.task
    def meet() -> str:
        barrier.wait()
        return threading.current_thread().name

    handles = [await meet.kiq(), await meet.kiq()]
    names = [(await h.wait_result(timeout=DEADLINE)).return_value for h in handles]
    assert len(set(names)) == 2, "two sync tasks ran at the same time in two threads"
    await broker.shutdown()


async def test_delay_label_postpones_a_background_task() -> None:
    broker = InMemoryBroker()
    started = asyncio.Event()

    @broker.task
    async def later() -> None:
        started.set()

    loop = asyncio.get_running_loop()
    before = loop.time()
    handle = await later.kicker().with_labels(delay="0.2").kiq()
    await handle.wait_result(timeout=DEADLINE)
    assert loop.time() - before >= 0.2


async def test_unknown_task_name_is_refused_by_kiq() -> None:
    from taskiq import AsyncKicker

    broker = InMemoryBroker()
    kicker: AsyncKicker[Any, Any] = AsyncKicker("nowhere:task", broker, {})
    with pytest.raises(UnknownTaskError, match="'nowhere:task' is registered on this"):
        await kicker.kiq()


async def test_custom_result_backend_and_id_generator() -> None:
    from taskiq import InmemoryResultBackend

    backend = InmemoryResultBackend(max_stored_results=-1)
    broker = InMemoryBroker(result_backend=backend, task_id_generator=lambda: "fixed-id")

    @broker.task
    async def one() -> int:
        return 1

    handle = await one.kiq()
    assert handle.task_id == "fixed-id"
    await handle.wait_result(timeout=DEADLINE)
    assert await backend.is_result_ready("fixed-id")


def test_listen_explains_that_it_cannot_serve_a_worker() -> None:
    with pytest.raises(ListenError, match="cannot be used with `taskiq worker`"):
        InMemoryBroker().listen()


async def test_no_bound_on_background_tasks_with_none() -> None:
    broker = InMemoryBroker(max_async_tasks=None)
    running = 0
    gate = asyncio.Event()

    @broker.task
    async def held() -> None:
        nonlocal running
        running += 1
        await gate.wait()

    for _ in range(40):
        await held.kiq()
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while running < 40:
        assert loop.time() < end
        await asyncio.sleep(0.005)
    gate.set()
    await broker.wait_all()


def test_one_broker_serves_several_event_loops() -> None:
    broker = InMemoryBroker(max_async_tasks=2)

    @broker.task
    async def one() -> int:
        return 1

    async def send() -> int:
        return (await (await one.kiq()).wait_result(timeout=DEADLINE)).return_value

    assert [asyncio.run(send()) for _ in range(2)] == [1, 1]

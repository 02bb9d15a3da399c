"""The worker loop: prefetch and concurrency bounds, stopping, task limits, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from taskiq import (
    AckableMessage,
    AsyncBroker,
    BrokerMessage,
    InmemoryResultBackend,
    Receiver,
    TaskiqEvents,
)
from taskiq.exceptions import TaskRejectedError, TaskTimeoutError, UnknownTaskError
from taskiq.message import TaskiqMessage
from taskiq.receiver.params import ArgumentBindError
from taskiq.result import TaskiqResult

DEADLINE = 20.0


class QueueBroker(AsyncBroker):
    """A real in-process transport: kick enqueues, listen yields ackable deliveries."""

    def __init__(self) -> None:
        super().__init__(InmemoryResultBackend(-1))
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.acked: list[str] = []
        self.rejected: list[str] = []
        self.nacked: list[str] = []
        self.listen_closed = asyncio.Event()

    async def kick(self, message: BrokerMessage) -> None:
        await self.queue.put(message.message)

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        try:
            while True:
                data = await self.queue.get()
                yield self._ackable(data)
        finally:
            self.listen_closed.set()

    def _ackable(self, data: bytes) -> AckableMessage:
        key = data.decode(errors="replace")

        async def ack() -> None:
            self.acked.append(key)

        def reject() -> None:
            self.rejected.append(key)

        async def nack() -> None:
            self.nacked.append(key)

        return AckableMessage(data=data, ack=ack, reject=reject, nack=nack)

    def task_ids(self, keys: list[str]) -> list[str]:
        return [TaskiqMessage.model_validate_json(key).task_id for key in keys]


async def until(condition: Any, deadline: float = DEADLINE) -> None:
    """Wait for ``condition()`` to hold, failing after a generous deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        assert loop.time() < end, "condition not reached before the deadline"
        await asyncio.sleep(0.005)


async def settle_loop(rounds: int = 50) -> None:
    """Give every ready coroutine many chances to run (nothing here waits on I/O)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class Gate:
    """Counts tasks running inside it and holds them until opened."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.running = 0
        self.peak = 0
        self.started: list[int] = []

    async def enter(self, number: int) -> int:
        self.running += 1
        self.peak = max(self.peak, self.running)
        self.started.append(number)
        try:
            await self.opened.wait()
        finally:
            self.running -= 1
        return number


@pytest.fixture
def broker() -> QueueBroker:
    return QueueBroker()


def gated_task(broker: QueueBroker, gate: Gate) -> Any:
    @broker.task(task_name="gated")
    async def gated(number: int) -> int:
        return await gate.enter(number)

    return gated


async def start(receiver: Receiver) -> tuple[asyncio.Event, asyncio.Task[None]]:
    finish = asyncio.Event()
    return finish, asyncio.create_task(receiver.listen(finish))


async def test_concurrency_and_prefetch_are_bounded(broker: QueueBroker) -> None:
    gate = Gate()
    gated = gated_task(broker, gate)
    receiver = Receiver(broker, max_async_tasks=2, max_prefetch=1)
    handles = [await gated.kiq(number) for number in range(6)]
    finish, listening = await start(receiver)
    await until(lambda: gate.running == 2 and receiver.received == 3)
    await settle_loop()
    assert (gate.running, receiver.received, broker.queue.qsize()) == (2, 3, 3)
    gate.opened.set()
    results = [await handle.wait_result(timeout=DEADLINE) for handle in handles]
    assert [result.return_value for result in results] == list(range(6))
    assert gate.peak == 2
    finish.set()
    await asyncio.wait_for(listening, DEADLINE)


async def test_max_prefetch_zero_fetches_only_what_can_start(broker: QueueBroker) -> None:
    gate = Gate()
    gated = gated_task(broker, gate)
    receiver = Receiver(broker, max_async_tasks=3, max_prefetch=0)
    for number in range(5):
        await gated.kiq(number)
    finish, listening = await start(receiver)
    await until(lambda: gate.running == 3)
    await settle_loop()
    assert receiver.received == 3
    gate.opened.set()
    await until(lambda: len(broker.acked) == 5)
    assert gate.peak == 3
    finish.set()
    await asyncio.wait_for(listening, DEADLINE)


async def test_finish_event_stops_while_the_broker_waits(broker: QueueBroker) -> None:
    finish, listening = await start(Receiver(broker))
    await settle_loop()
    finish.set()
    await asyncio.wait_for(listening, DEADLINE)
    assert broker.listen_closed.is_set()


async def test_stop_finishes_running_and_leaves_unstarted_unsettled(
    broker: QueueBroker,
) -> None:
    gate = Gate()
    gated = gated_task(broker, gate)
    receiver = Receiver(broker, max_async_tasks=1, max_prefetch=2)
    handles = [await gated.kiq(number) for number in range(3)]
    finish, listening = await start(receiver)
    await until(lambda: gate.running == 1 and receiver.received == 3)
    finish.set()
    await settle_loop()
    assert not listening.done(), "the running task must be allowed to finish"
    gate.opened.set()
    await asyncio.wait_for(listening, DEADLINE)
    assert broker.task_ids(broker.acked) == [handles[0].task_id]
    assert broker.rejected == []
    assert broker.task_ids(broker.nacked) == [handles[1].task_id, handles[2].task_id]
    assert gate.started == [0]
    assert [await handle.is_ready() for handle in handles] == [True, False, False]
    assert broker.listen_closed.is_set()


async def test_wait_tasks_timeout_cancels_late_tasks_without_ack(broker: QueueBroker) -> None:
    cancelled = asyncio.Event()

    @broker.task
    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    receiver = Receiver(broker, wait_tasks_timeout=0.05)
    handle = await forever.kiq()
    finish, listening = await start(receiver)
    await until(lambda: receiver.received == 1)
    await settle_loop()
    finish.set()
    await asyncio.wait_for(listening, DEADLINE)
    assert cancelled.is_set()
    assert broker.acked == []
    assert broker.task_ids(broker.nacked) == [handle.task_id]
    assert not await handle.is_ready()


async def test_max_tasks_to_execute_finishes_them_and_calls_on_exit(broker: QueueBroker) -> None:
    exited: list[Receiver] = []

    @broker.task
    async def echo(value: int) -> int:
        await asyncio.sleep(0)
        return value

    handles = [await echo.kiq(value) for value in range(5)]
    receiver = Receiver(
        broker,
        max_async_tasks=1,
        max_prefetch=5,
        max_tasks_to_execute=3,
        on_exit=exited.append,
    )
    await asyncio.wait_for(receiver.listen(asyncio.Event()), DEADLINE)
    assert exited == [receiver]
    assert [await handle.is_ready() for handle in handles] == [True] * 3 + [False] * 2
    assert broker.queue.qsize() == 2
    assert len(broker.acked) == 3


async def test_async_on_exit_is_awaited(broker: QueueBroker) -> None:
    exited = asyncio.Event()

    async def on_exit(receiver: Receiver) -> None:
        await asyncio.sleep(0)
        exited.set()

    @broker.task
    def one() -> int:
        return 1

    await one.kiq()
    receiver = Receiver(broker, max_tasks_to_execute=1, on_exit=on_exit)
    await asyncio.wait_for(receiver.listen(asyncio.Event()), DEADLINE)
    assert exited.is_set()


async def test_malformed_payload_is_rejected_and_the_loop_goes_on(broker: QueueBroker) -> None:
    @broker.task
    async def ok() -> str:
        return "ok"

    await broker.queue.put(b"\xff not a message")
    await broker.queue.put(b'{"task_id": 5}')
    handle = await ok.kiq()
    finish, listening = await start(Receiver(broker))
    result = await handle.wait_result(timeout=DEADLINE)
    finish.set()
    await asyncio.wait_for(listening, DEADLINE)
    assert result.return_value == "ok"
    assert broker.rejected == ["\ufffd not a message", '{"task_id": 5}']


async def test_unknown_task_is_rejected_and_its_waiter_gets_an_error(broker: QueueBroker) -> None:
    message = TaskiqMessage(task_id="lost-1", task_name="nowhere:missing")
    await broker.kick(broker.formatter.dumps(message))
    finish, listening = await start(Receiver(broker))
    await broker.result_backend.wait_until_ready("lost-1", timeout=DEADLINE)
    finish.set()
    await asyncio.wait_for(listening, DEADLINE)
    stored = await broker.result_backend.get_result("lost-1")
    assert stored.is_err
    assert isinstance(stored.error, UnknownTaskError)
    assert "nowhere:missing" in str(stored.error)
    assert broker.task_ids(broker.rejected) == ["lost-1"]


async def test_callback_raise_err_reraises_bad_input(broker: QueueBroker) -> None:
    receiver = Receiver(broker)
    assert await receiver.callback(b"garbage") is None
    with pytest.raises(Exception, match="cannot be decoded"):
        await receiver.callback(b"garbage", raise_err=True)
    unknown = broker.formatter.dumps(TaskiqMessage(task_id="u", task_name="no:such"))
    with pytest.raises(UnknownTaskError):
        await receiver.callback(unknown.message, raise_err=True)


async def test_stream_end_finishes_every_fetched_task() -> None:
    class FiniteBroker(QueueBroker):
        async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
            while not self.queue.empty():
                yield self._ackable(self.queue.get_nowait())

    broker = FiniteBroker()
    seen: list[int] = []

    @broker.task
    async def record(value: int) -> None:
        await asyncio.sleep(0)
        seen.append(value)

    for value in range(4):
        await record.kiq(value)
    await asyncio.wait_for(Receiver(broker, max_async_tasks=2).listen(asyncio.Event()), DEADLINE)
    assert sorted(seen) == [0, 1, 2, 3]
    assert len(broker.acked) == 4


async def test_run_startup_starts_the_broker(broker: QueueBroker) -> None:
    started: list[bool] = []
    broker.is_worker_process = True
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, lambda state: started.append(True))
    finish = asyncio.Event()
    finish.set()
    await asyncio.wait_for(Receiver(broker, run_startup=True).listen(finish), DEADLINE)
    assert started == [True]


async def test_broker_failure_lets_running_tasks_finish_then_raises() -> None:
    class BrokenBroker(QueueBroker):
        async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
            yield self._ackable(await self.queue.get())
            await self.queue.get()  # the second delivery never comes: the connection drops
            raise ConnectionError("connection lost")

    broker = BrokenBroker()
    gate = Gate()
    gated = gated_task(broker, gate)
    first = await gated.kiq(1)
    _, listening = await start(Receiver(broker))
    await until(lambda: gate.running == 1)
    await broker.queue.put(b"wake the generator up")
    await settle_loop()
    assert not listening.done(), "a running task is not abandoned because the broker failed"
    gate.opened.set()
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(listening, DEADLINE)
    assert (await first.wait_result(timeout=DEADLINE)).return_value == 1
    assert broker.task_ids(broker.acked) == [first.task_id]


async def test_cancelling_listen_cancels_running_tasks(broker: QueueBroker) -> None:
    gate = Gate()
    gated = gated_task(broker, gate)
    await gated.kiq(1)
    _, listening = await start(Receiver(broker))
    await until(lambda: gate.running == 1)
    listening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await listening
    assert gate.running == 0
    assert broker.acked == []


@pytest.mark.parametrize("stop_at", range(1, 9))
async def test_a_slot_freed_while_stopping_fetches_nothing_more(
    broker: QueueBroker,
    stop_at: int,
) -> None:
    finish = asyncio.Event()

    @broker.task
    async def work(number: int) -> int:
        if number == stop_at:  # the stop lands while slots are freeing up
            finish.set()
        return number

    for number in range(20):
        await work.kiq(number)
    receiver = Receiver(broker, max_async_tasks=2, max_prefetch=1)
    await asyncio.wait_for(receiver.listen(finish), DEADLINE)
    unstarted = receiver.received - len(broker.acked)
    assert unstarted <= 1, "no more than max_prefetch fetched deliveries were left unstarted"
    assert broker.queue.qsize() == 20 - receiver.received


async def test_many_deliveries_each_settled_once_even_when_stopped_midway(
    broker: QueueBroker,
) -> None:
    import random

    rng = random.Random(7)

    @broker.task
    async def work(number: int) -> int:
        for _ in range(rng.randint(0, 5)):
            await asyncio.sleep(0)
        return number

    handles = [await work.kiq(number) for number in range(200)]
    receiver = Receiver(broker, max_async_tasks=5, max_prefetch=3)
    finish, listening = await start(receiver)
    await until(lambda: len(broker.acked) >= 60)
    finish.set()
    await asyncio.wait_for(listening, DEADLINE)

    acked = broker.task_ids(broker.acked)
    assert len(acked) == len(set(acked)), "no delivery is acked twice"
    ready = {handle.task_id for handle in handles if await handle.is_ready()}
    assert set(acked) == ready, "a delivery is acked exactly when its result was stored"
    assert receiver.received - len(acked) <= 3, "at most max_prefetch were left unstarted"
    assert broker.queue.qsize() == 200 - receiver.received


async def test_cancelling_while_the_broker_waits_closes_cleanly(
    broker: QueueBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, listening = await start(Receiver(broker))
    await settle_loop()
    listening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await listening
    assert broker.listen_closed.is_set()
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


def test_the_receiver_runs_on_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> list[int]:
        broker = QueueBroker()

        @broker.task
        async def square(value: int) -> int:
            await asyncio.sleep(0)
            return value * value

        handles = [await square.kiq(value) for value in range(10)]
        finish, listening = await start(Receiver(broker, max_async_tasks=3, max_prefetch=1))
        results = [await handle.wait_result(timeout=DEADLINE) for handle in handles]
        finish.set()
        await asyncio.wait_for(listening, DEADLINE)
        assert broker.listen_closed.is_set()
        return [result.return_value for result in results]

    loop = uvloop.new_event_loop()
    try:
        assert loop.run_until_complete(scenario()) == [value * value for value in range(10)]
    finally:
        loop.close()


@pytest.mark.parametrize(
    "error",
    [
        UnknownTaskError(task_name="x:y"),
        TaskTimeoutError(task_name="x:y", timeout=1.5),
        TaskRejectedError(),
        ArgumentBindError("Task 'x:y' cannot be called with args=[1]"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_the_receiver_stores_survive_serialization(error: Exception) -> None:
    result: TaskiqResult[Any] = TaskiqResult(
        is_err=True,
        return_value=None,
        execution_time=0.0,
        error=error,
    )
    again = TaskiqResult[Any].model_validate(result.model_dump(mode="json"))
    assert type(again.error) is type(error)
    assert str(again.error) == str(error)


class AsyncCallable:
    """A task that is an object with an async ``__call__``."""

    async def __call__(self, value: int) -> int:
        return value + 1


def returns_coroutine(value: int) -> Any:
    """A sync callable handing back a coroutine: the worker awaits it."""

    async def later() -> int:
        return value * 3

    return later()


async def test_async_callable_objects_and_returned_coroutines_are_awaited() -> None:
    broker = QueueBroker()
    plus_one = broker.register_task(AsyncCallable(), task_name="plus_one")
    triple = broker.register_task(returns_coroutine, task_name="triple")
    first_handle, second_handle = await plus_one.kiq(1), await triple.kiq(2)
    finish, listening = await start(Receiver(broker))
    first = await first_handle.wait_result(timeout=DEADLINE)
    second = await second_handle.wait_result(timeout=DEADLINE)
    finish.set()
    await asyncio.wait_for(listening, DEADLINE)
    assert (first.return_value, second.return_value) == (2, 6)

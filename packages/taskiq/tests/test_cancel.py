"""Cancellation on the in-memory broker: one test per rule of docs/task-control.md."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from docs_examples import assert_example_runs, example_params
from taskiq import (
    CancelOutcome,
    Context,
    InMemoryBroker,
    NotSupportedError,
    Receiver,
    SimpleRetryMiddleware,
    SmartRetryMiddleware,
    TaskCancelledError,
    TaskiqDepends,
    TaskStatus,
)
from taskiq.cli.worker.args import WorkerArgs
from taskiq.cli.worker.child import receiver_kwargs
from taskiq.control.cancellation import MIN_REQUEST_TTL, cancel_key, request_ttl
from taskiq.control.claims import ClaimStore
from taskiq.receiver.cancelling import DEFAULT_CANCEL_GRACE
from taskiq.result_backends.dummy import DummyResultBackend
from taskiq.result_backends.inmemory import InmemoryResultBackend
from taskiq.result_backends.inmemory_claims import InmemoryClaimStore

DEADLINE = 10.0


@pytest.fixture
async def broker() -> AsyncIterator[InMemoryBroker]:
    broker = InMemoryBroker().with_middlewares(SimpleRetryMiddleware())
    await broker.startup()
    yield broker
    await broker.shutdown()


async def _until(condition: Any, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, f"{what} did not happen within {DEADLINE} s"
        await asyncio.sleep(0.01)


async def test_a_delayed_task_cancelled_before_it_starts_never_runs(
    broker: InMemoryBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[int] = []

    @broker.task
    async def work(number: int) -> int:
        ran.append(number)
        return number

    task = await work.kicker().with_labels(delay=0.3).kiq(1)
    assert await task.cancel() is CancelOutcome.REQUESTED
    with caplog.at_level(logging.INFO, logger="taskiq.tasks"):
        result = await task.wait_result(timeout=DEADLINE)
    assert ran == []
    assert result.is_err
    with pytest.raises(TaskCancelledError):
        result.raise_for_error()
    state = await task.get_state()
    assert state is not None
    assert state.status is TaskStatus.CANCELLED
    assert [step.status for step in state.timeline] == [TaskStatus.QUEUED, TaskStatus.CANCELLED]
    lines = [r.getMessage() for r in caplog.records if "cancelled" in r.getMessage()]
    assert lines == [f"Task {work.task_name}[{task.task_id}] cancelled before start"]


async def test_a_request_for_an_unknown_id_is_kept_for_when_the_task_arrives(
    broker: InMemoryBroker,
) -> None:
    ran: list[str] = []

    @broker.task
    async def work() -> None:
        ran.append("ran")

    assert await broker.cancel("not-sent-yet") is CancelOutcome.UNKNOWN
    task = await work.kicker().with_task_id("not-sent-yet").kiq()
    result = await task.wait_result(timeout=DEADLINE)
    assert isinstance(result.error, TaskCancelledError)
    assert ran == []


async def test_a_running_async_task_is_cancelled_and_its_dependencies_tear_down(
    broker: InMemoryBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    events: list[str] = []
    started = asyncio.Event()

    async def resource() -> AsyncIterator[str]:
        events.append("opened")
        try:
            yield "resource"
        finally:
            events.append("closed")

    @broker.task
    async def slow(res: str = TaskiqDepends(resource)) -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append("CancelledError")
            raise
        return res

    task = await slow.kiq()
    await asyncio.wait_for(started.wait(), DEADLINE)
    with caplog.at_level(logging.INFO, logger="taskiq.tasks"):
        asked = time.monotonic()
        assert await task.cancel() is CancelOutcome.REQUESTED
        result = await task.wait_result(timeout=DEADLINE, check_interval=0.01)
        took = time.monotonic() - asked
    assert took < 1.0, f"the running task stopped only after {took:.2f} s"
    assert events == ["opened", "CancelledError", "closed"]
    assert isinstance(result.error, TaskCancelledError)
    state = await task.get_state()
    assert state is not None
    assert state.status is TaskStatus.CANCELLED
    assert [step.status for step in state.timeline][-2:] == [
        TaskStatus.STARTED,
        TaskStatus.CANCELLED,
    ]
    assert f"Task {slow.task_name}[{task.task_id}] cancelled while running" in caplog.messages


async def test_a_sync_task_polls_context_cancelled_and_returns(broker: InMemoryBroker) -> None:
    started = threading.Event()
    seen: list[bool] = []

    @broker.task
    def crunch(context: Context = TaskiqDepends()) -> str:
        started.set()
        end = time.monotonic() + DEADLINE
        while not context.cancelled and time.monotonic() < end:
            time.sleep(0.01)
        seen.append(context.cancelled)
        return "partial"

    task = await crunch.kiq()
    await asyncio.get_running_loop().run_in_executor(None, started.wait, DEADLINE)
    assert await task.cancel() is CancelOutcome.REQUESTED
    result = await task.wait_result(timeout=DEADLINE, check_interval=0.01)
    assert seen == [True]
    assert isinstance(result.error, TaskCancelledError)  # the partial value is discarded


async def test_raise_if_cancelled_ends_a_sync_task(broker: InMemoryBroker) -> None:
    started = threading.Event()

    @broker.task
    def crunch(context: Context = TaskiqDepends()) -> None:
        started.set()
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            context.raise_if_cancelled()
            time.sleep(0.01)

    task = await crunch.kiq()
    await asyncio.get_running_loop().run_in_executor(None, started.wait, DEADLINE)
    await task.cancel()
    result = await task.wait_result(timeout=DEADLINE, check_interval=0.01)
    assert isinstance(result.error, TaskCancelledError)


async def test_a_sync_task_that_never_polls_is_given_up_after_the_grace(
    broker: InMemoryBroker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker.receiver._cancels.cancel_grace = 0.2  # the worker's --cancel-grace
    release = threading.Event()
    started = threading.Event()

    @broker.task
    def stubborn() -> str:
        started.set()
        release.wait(DEADLINE)
        return "done"

    task = await stubborn.kiq()
    await asyncio.get_running_loop().run_in_executor(None, started.wait, DEADLINE)
    await task.cancel()
    try:
        result = await task.wait_result(timeout=DEADLINE, check_interval=0.01)
    finally:
        release.set()
    assert isinstance(result.error, TaskCancelledError)
    assert any("ignored its cancellation" in message for message in caplog.messages)


async def test_a_cancelled_task_is_not_retried(broker: InMemoryBroker) -> None:
    runs: list[int] = []
    started = asyncio.Event()

    @broker.task(retry_on_error=True, max_retries=3)
    async def flaky() -> None:
        runs.append(1)
        started.set()
        await asyncio.sleep(60)

    task = await flaky.kiq()
    await asyncio.wait_for(started.wait(), DEADLINE)
    await task.cancel()
    result = await task.wait_result(timeout=DEADLINE, check_interval=0.01)
    await broker.wait_all()
    assert isinstance(result.error, TaskCancelledError)
    assert runs == [1]


async def test_a_task_that_swallows_the_cancellation_is_still_cancelled(
    broker: InMemoryBroker,
) -> None:
    started = asyncio.Event()

    @broker.task
    async def stubborn() -> str:
        started.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)
        await asyncio.sleep(0)  # no second CancelledError: the worker undid its own
        return "finished anyway"

    task = await stubborn.kiq()
    await asyncio.wait_for(started.wait(), DEADLINE)
    await task.cancel()
    result = await task.wait_result(timeout=DEADLINE, check_interval=0.01)
    assert isinstance(result.error, TaskCancelledError)


async def test_cancelling_finished_cancelled_and_unknown_tasks_says_which(
    broker: InMemoryBroker,
) -> None:
    @broker.task
    async def quick() -> int:
        return 1

    @broker.task
    async def boom() -> None:
        raise ValueError("on purpose")

    done = await quick.kiq()
    await done.wait_result(timeout=DEADLINE)
    failed = await boom.kiq()
    await failed.wait_result(timeout=DEADLINE)
    assert await done.cancel() is CancelOutcome.ALREADY_FINISHED
    assert await failed.cancel() is CancelOutcome.ALREADY_FINISHED
    assert (await done.wait_result()).return_value == 1  # untouched
    assert await broker.cancel("no-such-task") is CancelOutcome.UNKNOWN

    cancelled = await quick.kicker().with_labels(delay=0.2).kiq()
    assert await cancelled.cancel() is CancelOutcome.REQUESTED
    assert await cancelled.cancel() is CancelOutcome.REQUESTED  # asking twice is harmless
    await cancelled.wait_result(timeout=DEADLINE)
    assert await cancelled.cancel() is CancelOutcome.ALREADY_CANCELLED


async def test_a_backend_without_claims_cannot_cancel_but_still_runs_tasks() -> None:
    broker = InMemoryBroker(result_backend=DummyResultBackend())

    @broker.task
    async def quick() -> int:
        return 1

    await broker.startup()
    try:
        task = await quick.kiq()
        with pytest.raises(NotSupportedError, match="Cannot cancel tasks: the result backend"):
            await task.cancel()
        with pytest.raises(NotSupportedError):
            await broker.cancel(task.task_id)
        await broker.wait_all(raise_errors=True)
    finally:
        await broker.shutdown()


@pytest.mark.parametrize("task_id", ["", None, 5])
async def test_a_bad_task_id_is_refused_in_one_line(broker: InMemoryBroker, task_id: Any) -> None:
    with pytest.raises(ValueError, match="A task id must be a non-empty string"):
        await broker.cancel(task_id)


async def test_the_request_is_a_claim_living_at_least_as_long_as_results(
    broker: InMemoryBroker,
) -> None:
    await broker.cancel("t-1")
    store = broker.result_backend.claim_store()  # type: ignore[attr-defined]
    assert await store.holder(cancel_key("t-1")) is not None
    assert request_ttl(broker.result_backend) == MIN_REQUEST_TTL

    class LongResults:
        result_ex_time = 30 * 24 * 3600

    assert request_ttl(LongResults()) == 30 * 24 * 3600


@pytest.mark.parametrize("grace", ["soon", -1, float("nan")])
def test_a_bad_cancel_grace_is_refused_at_construction(grace: Any) -> None:
    with pytest.raises(ValueError, match="cancel_grace must be a number of seconds >= 0"):
        Receiver(InMemoryBroker(), cancel_grace=grace)


def test_cancel_grace_may_come_as_text_from_receiver_arg() -> None:
    receiver = Receiver(InMemoryBroker(), cancel_grace="1.5")
    assert receiver._cancels.cancel_grace == 1.5


def test_the_worker_flag_reaches_the_receiver(capsys: pytest.CaptureFixture[str]) -> None:
    args = WorkerArgs.from_cli(["app:broker", "--cancel-grace", "2.5"])
    assert receiver_kwargs(args, ThreadPoolExecutor(1))["cancel_grace"] == 2.5
    assert WorkerArgs.from_cli(["app:broker"]).cancel_grace == DEFAULT_CANCEL_GRACE
    with pytest.raises(SystemExit):
        WorkerArgs.from_cli(["app:broker", "--cancel-grace", "-1"])
    assert "--cancel-grace" in capsys.readouterr().err


async def test_a_task_waiting_for_its_retry_is_not_run_again() -> None:
    broker = InMemoryBroker().with_middlewares(SmartRetryMiddleware(default_delay=0.3))
    runs: list[int] = []

    @broker.task(retry_on_error=True, max_retries=3)
    async def flaky() -> None:
        runs.append(1)
        raise ConnectionError("down on purpose")

    await broker.startup()
    try:
        task = await flaky.kiq()
        await _until(lambda: runs == [1], "the first run")
        await asyncio.sleep(0.05)  # the retry is now waiting for its delay
        state = await task.get_state()
        assert state is not None
        assert state.status is TaskStatus.RETRYING
        assert await task.cancel() is CancelOutcome.REQUESTED
        result = await task.wait_result(timeout=DEADLINE, check_interval=0.01)
        await broker.wait_all()
    finally:
        await broker.shutdown()
    assert isinstance(result.error, TaskCancelledError)
    assert runs == [1]


@pytest.mark.parametrize(
    "code",
    [param for param in example_params("task-control.md") if "cancel(" in str(param.values[0])],
)
def test_the_documented_example_runs(code: str, tmp_path: Path) -> None:
    assert_example_runs(code, tmp_path, "cancel_example.py")


class _DownClaims(InmemoryClaimStore):
    async def holders(self, keys: Sequence[str]) -> list[str | None]:
        raise ConnectionError("claim store down on purpose")


class _DownBackend(InmemoryResultBackend):
    def __init__(self) -> None:
        super().__init__()
        self.down = _DownClaims()

    def claim_store(self) -> ClaimStore:
        return self.down


async def test_an_unreadable_store_lets_tasks_run_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = InMemoryBroker(result_backend=_DownBackend())

    @broker.task
    async def quick(number: int) -> int:
        await asyncio.sleep(0.7)  # outlives one poll, which fails too
        return number

    await broker.startup()
    try:
        with caplog.at_level(logging.WARNING, logger="taskiq.receiver"):
            first = await quick.kiq(1)
            assert (await first.wait_result(timeout=DEADLINE)).return_value == 1
            second = await quick.kiq(2)
            assert (await second.wait_result(timeout=DEADLINE)).return_value == 2
    finally:
        await broker.shutdown()
    warnings = [m for m in caplog.messages if "Could not read cancellation requests" in m]
    assert warnings == [
        "Could not read cancellation requests; the tasks run: claim store down on purpose",
    ]

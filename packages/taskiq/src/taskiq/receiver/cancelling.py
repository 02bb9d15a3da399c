"""The worker's side of cancellation: skip requested tasks, stop running ones.

Before a task starts, `CancelWatch.before_start` reads its request; the tasks
started in one event-loop turn share one read. While tasks run, one poller per
process reads the requests of all of them every `POLL_INTERVAL` seconds (one
batch), so a request reaches a running task within about half a second plus one
round trip; nothing is polled while nothing runs. When a request arrives:

- an async task is cancelled: `asyncio.CancelledError` at its next await, its
  generator dependencies tear down;
- a sync task sees `Context.cancelled` turn true and should return. If it has not
  ended after ``cancel_grace`` seconds the worker stops waiting for it: it stores
  the outcome and frees the slot. In the process pool of ``--use-process-pool``
  (`taskiq.cli.worker.process_pool.ReplacingProcessPool`) its pool process is ended
  and replaced; a thread cannot be stopped, so it runs on until it returns.

Once a request reached a running task, its outcome is ``cancelled``, however it
ended. A store that cannot be read is logged and the task runs: a broken backend
must not stop all work.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from taskiq.control.cancellation import requested_among
from taskiq.control.claims import ClaimStore, SupportsClaims
from taskiq.exceptions import TaskCancelledError
from taskiq.result import TaskiqResult

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker
    from taskiq.message import TaskiqMessage

logger = logging.getLogger("taskiq.receiver")
task_logger = logging.getLogger("taskiq.tasks")

#: Seconds between two reads of the running tasks' requests.
POLL_INTERVAL = 0.5
#: Seconds a sync task gets to notice `Context.cancelled` before the worker stops waiting.
DEFAULT_CANCEL_GRACE = 5.0

#: The id of the task whose sync call is being submitted to the executor: a pool
#: that can stop one call (`taskiq.cli.worker.process_pool`) tags the call with it.
CALLING_TASK: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "taskiq_calling_task",
    default=None,
)
#: Ids of the tasks of this process whose request has arrived (`Context.cancelled`).
_delivered: set[str] = set()


def cancel_delivered(task_id: str) -> bool:
    """True once a request to cancel the running task ``task_id`` reached this process."""
    return task_id in _delivered


@dataclass
class _Run:
    """One running task as the watch sees it."""

    task: asyncio.Task[Any]
    is_async: bool
    requested: bool = False
    #: True once the watch called ``task.cancel()`` (undone when the run ends).
    cancelled_task: bool = False
    timer: asyncio.TimerHandle | None = field(default=None)


class CancelWatch:
    """Reads the cancellation requests of one broker's tasks for one receiver."""

    def __init__(
        self,
        store: ClaimStore | None,
        executor: Callable[[], Executor | None] = lambda: None,
        cancel_grace: float = DEFAULT_CANCEL_GRACE,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.store = store
        self.executor = executor
        self.cancel_grace = cancel_grace
        self.poll_interval = poll_interval
        self._running: dict[str, _Run] = {}
        #: The tasks waiting for the read that one of them leads (None: no read open).
        self._batch: dict[str, list[asyncio.Future[bool]]] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._read_failing = False

    @classmethod
    def of(
        cls,
        broker: AsyncBroker,
        executor: Callable[[], Executor | None],
        cancel_grace: float | str,
    ) -> CancelWatch:
        """The watch for ``broker``: inactive when its result backend cannot hold claims.

        ``executor`` returns the receiver's executor of the moment (it may be replaced).
        """
        backend = broker.result_backend
        store = backend.claim_store() if isinstance(backend, SupportsClaims) else None
        return cls(store, executor, check_grace(cancel_grace))

    @property
    def active(self) -> bool:
        """False when there is nowhere to read requests from (the receiver skips the watch)."""
        return self.store is not None

    # -- before the start ----------------------------------------------------

    async def before_start(self, message: TaskiqMessage) -> bool:
        """True (and one log line) when ``message``'s task was cancelled before it started."""
        if self._batch is None:
            cancelled = await self._read_batch(message.task_id)
        else:  # another task of this turn reads for us
            check = asyncio.get_running_loop().create_future()
            self._batch.setdefault(message.task_id, []).append(check)
            cancelled = await check
        if cancelled:
            task_logger.info(
                "Task %s[%s] cancelled before start", message.task_name, message.task_id
            )
        return cancelled

    async def _read_batch(self, task_id: str) -> bool:
        """Lead one read: the tasks that reach `before_start` in this turn join it."""
        batch: dict[str, list[asyncio.Future[bool]]] = {task_id: []}
        self._batch = batch
        found: set[str] = set()
        try:
            await asyncio.sleep(0)
            self._batch = None
            found = await self._requested(list(batch))
        finally:
            if self._batch is batch:
                self._batch = None
            for waiting_id, checks in batch.items():
                for check in checks:
                    if not check.done():
                        check.set_result(waiting_id in found)
        return task_id in found

    async def _requested(self, task_ids: list[str]) -> set[str]:
        assert self.store is not None  # only called when active
        try:
            found = await requested_among(self.store, task_ids)
        except Exception as exc:  # one WARNING per outage, not one per poll
            level = logging.DEBUG if self._read_failing else logging.WARNING
            logger.log(level, "Could not read cancellation requests; the tasks run: %s", exc)
            self._read_failing = True
            return set()
        if self._read_failing:
            logger.info("Cancellation requests can be read again.")
            self._read_failing = False
        return found

    # -- while it runs -------------------------------------------------------

    async def guard(
        self,
        message: TaskiqMessage,
        run: Awaitable[TaskiqResult[Any]],
        is_async: bool,
    ) -> TaskiqResult[Any]:
        """Await the task's ``run``; its result, or a cancelled one if a request arrived."""
        current = asyncio.current_task()
        assert current is not None  # the receiver runs in a task
        entry = self._running[message.task_id] = _Run(current, is_async)
        self._ensure_poller()
        result: TaskiqResult[Any] | None = None
        tag = CALLING_TASK.set(message.task_id)
        try:
            result = await run
        except asyncio.CancelledError:
            if not entry.requested:
                raise  # the worker is stopping: not ours to handle
        finally:
            CALLING_TASK.reset(tag)
            self._forget(message.task_id, entry)
        if entry.cancelled_task:  # also when the task swallowed the CancelledError
            _uncancel(current)
        if not entry.requested and result is not None:
            return result
        task_logger.info("Task %s[%s] cancelled while running", message.task_name, message.task_id)
        spent = 0.0 if result is None else result.execution_time
        return cancelled_result(message, spent)

    def _forget(self, task_id: str, entry: _Run) -> None:
        if self._running.get(task_id) is entry:
            del self._running[task_id]
            _delivered.discard(task_id)
        if entry.timer is not None:
            entry.timer.cancel()

    def _ensure_poller(self) -> None:
        poller = self._poller
        if poller is None or poller.done() or poller.get_loop() is not asyncio.get_running_loop():
            self._poller = asyncio.ensure_future(self._poll())

    async def _poll(self) -> None:
        while self._running:
            await asyncio.sleep(self.poll_interval)
            waiting = [task_id for task_id, run in self._running.items() if not run.requested]
            if waiting:
                for task_id in await self._requested(waiting):
                    self._deliver(task_id)

    def _deliver(self, task_id: str) -> None:
        entry = self._running.get(task_id)
        if entry is None or entry.requested:
            return
        entry.requested = True
        _delivered.add(task_id)
        if entry.is_async:
            self._cancel(entry)
        else:
            loop = asyncio.get_running_loop()
            entry.timer = loop.call_later(self.cancel_grace, self._stop_waiting, task_id, entry)

    def _stop_waiting(self, task_id: str, entry: _Run) -> None:
        """The sync task outlived ``cancel_grace``: end its pool process, or abandon its thread."""
        stop_call: Callable[[str], bool] | None = getattr(self.executor(), "stop_call", None)
        if stop_call is not None and stop_call(task_id):
            logger.warning(
                "Task %s ignored its cancellation for %s s; its pool process was ended.",
                task_id,
                self.cancel_grace,
            )
        else:
            logger.warning(
                "Task %s ignored its cancellation for %s s; the worker stops waiting, but its "
                "thread runs on until the function returns (poll Context.cancelled).",
                task_id,
                self.cancel_grace,
            )
        self._cancel(entry)

    @staticmethod
    def _cancel(entry: _Run) -> None:
        entry.cancelled_task = True
        entry.task.cancel()

    async def close(self) -> None:
        """Stop the poller (the receiver stopped listening)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller


def check_grace(value: float | str) -> float:
    """``cancel_grace`` as seconds, or a `ValueError` saying what is wrong with it."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise ValueError(f"cancel_grace must be a number of seconds >= 0, not {value!r}.")
    return seconds


def cancelled_result(message: TaskiqMessage, execution_time: float = 0.0) -> TaskiqResult[Any]:
    """The stored outcome of a cancelled task: `TaskCancelledError`."""
    error = TaskCancelledError(task_id=message.task_id, task_name=message.task_name)
    return TaskiqResult(
        is_err=True,
        return_value=None,
        execution_time=execution_time,
        labels=message.labels,
        error=error,
    )


def _uncancel(task: asyncio.Task[Any]) -> None:
    """Undo the cancellation we caused (Python 3.11+ counts them; 3.10 does not)."""
    uncancel = getattr(task, "uncancel", None)
    if uncancel is not None:
        uncancel()

"""Receives deliveries from a broker and runs them: prefetch → decode → run → settle.

`Receiver.listen` is the prefetch loop; `Receiver.callback` takes one delivery
through decode, run and settle, one small step each, so the path of a message
can be read top to bottom in `_process`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, NoReturn

from taskiq import task_log
from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage, AcknowledgeType
from taskiq.context import TaskRequeuedError
from taskiq.control.dead_letter_reasons import REJECTED_BY_TASK, malformed, unknown_task
from taskiq.exceptions import (
    NoResultError,
    TaskCancelledError,
    TaskRejectedError,
    UnknownTaskError,
)
from taskiq.fetch_budget import FetchBudget, listen_within
from taskiq.middlewares._labels import label_bool
from taskiq.receiver.account import ShutdownAccount
from taskiq.receiver.cancelling import DEFAULT_CANCEL_GRACE, CancelWatch, cancelled_result
from taskiq.receiver.delivery import Delivery, MalformedMessageError
from taskiq.receiver.dispatch import Dispatcher
from taskiq.receiver.events import TaskEvents
from taskiq.receiver.run import TaskRunner, failed_result
from taskiq.receiver.states import StateRecords
from taskiq.receiver.stop import END, cancel_for_sure, next_or_end, unless_stopped
from taskiq.result import TaskiqResult

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.decor import AsyncTaskiqDecoratedTask
    from taskiq.message import TaskiqMessage

logger = logging.getLogger("taskiq.receiver")

RawDelivery = bytes | str | AckableMessage
#: Opens a broker's stream of deliveries under a budget (`taskiq.fetch_budget`).
StreamSource = Callable[[AsyncBroker, FetchBudget], AsyncIterator[RawDelivery]]
_QUIET_ERRORS = (MalformedMessageError, UnknownTaskError)


class Receiver:
    """Runs the tasks that ``broker.listen()`` delivers, inside one worker process.

    - ``max_async_tasks``: how many tasks run at once (None or 0: no bound).
    - ``max_prefetch``: how many fetched deliveries may wait for a free slot.
    - ``ack_type``: when deliveries are acked (`AcknowledgeType`, default
      ``when_saved``); a task's ``ack_type`` label overrides it.
    - ``max_tasks_to_execute``: stop fetching after this many deliveries, finish
      them, call ``on_exit(receiver)`` and return.
    - ``wait_tasks_timeout``: on stop, how long running tasks may take to finish
      (None: as long as they need); later ones are cancelled and left unsettled.
    - ``validate_params``: cast arguments to the annotated types.
    - ``propagate_exceptions``: throw a task's exception into its generator
      dependencies at teardown.
    - ``cancel_grace``: seconds a cancelled sync task may run on before the worker
      stops waiting for it (`taskiq.receiver.cancelling`); a number or its text.
    """

    def __init__(
        self,
        broker: AsyncBroker,
        executor: Executor | None = None,
        validate_params: bool = True,
        max_async_tasks: int | None = None,
        max_prefetch: int = 0,
        propagate_exceptions: bool = True,
        run_startup: bool = False,
        ack_type: AcknowledgeType | str | None = None,
        on_exit: Callable[[Receiver], Awaitable[None] | None] | None = None,
        max_tasks_to_execute: int | None = None,
        wait_tasks_timeout: float | None = None,
        cancel_grace: float | str = DEFAULT_CANCEL_GRACE,
    ) -> None:
        self.broker = broker
        self.executor = executor
        self.validate_params = validate_params
        self.max_async_tasks = max_async_tasks
        self.max_prefetch = max_prefetch
        self.propagate_exceptions = propagate_exceptions
        self.run_startup = run_startup
        self.ack_type = AcknowledgeType(ack_type or AcknowledgeType.WHEN_SAVED)
        self.on_exit = on_exit
        self.max_tasks_to_execute = max_tasks_to_execute
        self.wait_tasks_timeout = wait_tasks_timeout
        #: Deliveries fetched by `listen` so far.
        self.received = 0
        self._runner = TaskRunner(broker, propagate_exceptions)
        self._states = StateRecords.of(broker)
        self._events = TaskEvents.of(broker)
        self._states_key = _states_key(broker)
        self._cancels = CancelWatch.of(broker, lambda: self.executor, cancel_grace)
        #: How `listen` opens the broker's stream; the worker wraps it with its task
        #: limit and reconnects (`taskiq.cli.worker.fetching.steady_source`).
        self.stream_source: StreamSource = listen_within

    # -- prefetch ------------------------------------------------------------

    async def listen(self, finish_event: asyncio.Event) -> None:
        """Consume ``broker.listen()`` until ``finish_event`` is set or the stream ends.

        Setting ``finish_event`` stops fetching at once (even while the broker
        waits for a message). Running tasks then get ``wait_tasks_timeout``
        seconds to finish and are settled; fetched deliveries that never started
        are left unsettled for the broker to deliver again.
        """
        if self.run_startup:
            await self.broker.startup()
        dispatcher: Dispatcher[RawDelivery] = Dispatcher(
            self.callback,
            self.max_async_tasks,
            self.max_prefetch,
        )
        stop = asyncio.ensure_future(finish_event.wait())
        self._refresh_states()
        self._states.attach()
        self._events.attach()
        iterator = self.stream_source(self.broker, FetchBudget(dispatcher.room))
        try:
            await self._serve(iterator, dispatcher, stop)
        except BaseException:  # cancelled (or failed): abandon what still runs
            dispatcher.stop_starting()
            await dispatcher.drain(0)
            raise
        finally:
            stop.cancel()
            await _aclose(iterator)
            await self._states.detach()
            await self._cancels.close()
            await self._events.detach()

    async def _serve(
        self,
        iterator: AsyncIterator[RawDelivery],
        dispatcher: Dispatcher[RawDelivery],
        stop: asyncio.Future[Any],
    ) -> None:
        stop.add_done_callback(lambda _: dispatcher.hold())  # nothing waiting starts after stop
        fetching = asyncio.ensure_future(self._fetch_all(iterator, dispatcher))
        try:
            await asyncio.wait({fetching, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:  # stopped, or cancelled from outside: the fetcher ends before anything else
            await cancel_for_sure(fetching)
        if not fetching.cancelled() and fetching.exception() is not None:
            logger.error(
                "broker.listen() failed; finishing the tasks already running.",
                exc_info=fetching.exception(),
            )
            await self._finish(dispatcher, stop, finish_waiting=False)
            fetching.result()  # re-raise
        await self._finish(dispatcher, stop, finish_waiting=not stop.done())

    async def _fetch_all(
        self,
        iterator: AsyncIterator[RawDelivery],
        dispatcher: Dispatcher[RawDelivery],
    ) -> None:
        """Fetch and submit deliveries until the stream ends or enough were received.

        It runs as one task that `_serve` cancels on stop, rather than racing every
        fetch against the stop signal: deliveries a broker already holds are then
        taken in one event-loop turn, so their tasks start, finish and settle
        together and brokers can batch those round trips (see benchmarks/README.md).
        Between a fetch returning and `Dispatcher.submit` nothing awaits, so a
        cancellation never drops a delivery the receiver has seen.
        """
        while not self._received_enough():
            await dispatcher.wait_for_room()
            if not dispatcher.accepting:  # a slot freed after the stop: fetch no more
                return
            delivery = await next_or_end(iterator)
            if delivery is END:
                return
            self.received += 1
            dispatcher.submit(delivery)

    def _received_enough(self) -> bool:
        limit = self.max_tasks_to_execute
        return limit is not None and limit > 0 and self.received >= limit

    async def _finish(
        self,
        dispatcher: Dispatcher[RawDelivery],
        stop: asyncio.Future[Any],
        finish_waiting: bool,
    ) -> None:
        """Settle up: start the waiting deliveries only if ``finish_waiting``, drain, exit."""
        if finish_waiting:  # the stream ended or the task limit was reached
            await unless_stopped(dispatcher.wait_idle(), stop)
        account = ShutdownAccount.open(
            len(dispatcher.running),
            len(dispatcher.waiting),
            dispatcher.completed,
            self.wait_tasks_timeout,
        )
        left = dispatcher.stop_starting()
        for item in left:
            await _release_unsettled(Delivery(item))
        cancelled = await dispatcher.drain(self.wait_tasks_timeout)
        account.close(dispatcher.completed, len(left), cancelled)
        if self._received_enough() and self.on_exit is not None:
            outcome = self.on_exit(self)
            if inspect.isawaitable(outcome):
                await outcome

    # -- decode → run → settle -------------------------------------------------

    async def callback(
        self,
        message: RawDelivery,
        raise_err: bool = False,
    ) -> TaskiqResult[Any] | None:
        """Take one delivery through decode → run → store → settle.

        Returns the task's result (None when no task ran or the task requeued
        itself). A bad delivery or a failing backend is logged and never stops
        the worker; ``raise_err=True`` re-raises such errors after logging.
        Errors of the task itself are never raised: they are in the result.
        """
        delivery = Delivery(message)
        try:
            return await self._process(delivery)
        except _QUIET_ERRORS as exc:
            if delivery.dead_lettered:  # the broker logged it once, with the reason
                logger.debug("Dead-lettered a delivery: %s", exc)
            else:
                logger.error("Dropped a delivery: %s", exc)
            if raise_err:
                raise
        except Exception:
            logger.exception("Failed to process a delivery.")
            if raise_err:
                raise
        finally:
            if not delivery.settled:
                await _release_unsettled(delivery)
        return None

    async def _process(self, delivery: Delivery) -> TaskiqResult[Any] | None:
        # The happy path awaits nothing it does not need: this runs for every task.
        try:
            message = self.broker.formatter.loads(delivery.data)
        except Exception as exc:
            await self._reject_malformed(delivery, exc)
        task = self.broker.find_task(message.task_name)
        if task is None:
            await self._reject_unknown(delivery, message)
        if self._states_key != _states_key(self.broker):  # reconfigured since
            self._refresh_states()
        self._events.received(message)
        ack_type = self._ack_type_for(task, message)
        if ack_type is AcknowledgeType.WHEN_RECEIVED:
            await delivery.ack()
        if self._cancels.active and await self._cancels.before_start(message):
            return await self._skip_cancelled(message, delivery, ack_type)
        await self._states.started(message)
        self._events.started(message)
        message, result = await self._execute(task, message, delivery)
        if isinstance(result.error, TaskRequeuedError):
            await delivery.ack()  # the copy it sent replaces this delivery
            return None
        if ack_type is AcknowledgeType.WHEN_EXECUTED:
            await delivery.ack()
        stored = await self._store(message, result)
        if isinstance(result.error, TaskRejectedError):
            await delivery.reject(REJECTED_BY_TASK)
        elif stored and ack_type is AcknowledgeType.WHEN_SAVED and not delivery.settled:
            await delivery.ack()
        return result

    async def _skip_cancelled(
        self,
        message: TaskiqMessage,
        delivery: Delivery,
        ack_type: AcknowledgeType,
    ) -> TaskiqResult[Any]:
        """Store a cancelled outcome for a task that never starts, and ack its delivery."""
        result = cancelled_result(message)
        stored = await self._store(message, result)
        if stored or ack_type is not AcknowledgeType.WHEN_SAVED:
            await delivery.ack()
        return result

    async def _reject_malformed(self, delivery: Delivery, exc: Exception) -> NoReturn:
        await delivery.reject(malformed(f"{type(exc).__name__}: {exc}"))
        raise MalformedMessageError(payload=delivery.data[:200], reason=exc) from exc

    async def _reject_unknown(self, delivery: Delivery, message: TaskiqMessage) -> NoReturn:
        await delivery.reject(unknown_task(message.task_name))
        error = UnknownTaskError(task_name=message.task_name)
        await self.broker.result_backend.set_result(message.task_id, failed_result(message, error))
        raise error

    def _refresh_states(self) -> None:
        self._states = StateRecords.of(self.broker)
        self._events = TaskEvents.of(self.broker)
        self._states_key = _states_key(self.broker)

    def _ack_type_for(
        self,
        task: AsyncTaskiqDecoratedTask[Any, Any],
        message: TaskiqMessage,
    ) -> AcknowledgeType:
        label = message.labels.get("ack_type", task.labels.get("ack_type"))
        if label is None:
            return self.ack_type
        try:
            return AcknowledgeType(label)
        except ValueError:
            logger.warning("Ignoring unknown ack_type label %r of %s.", label, task.task_name)
            return self.ack_type

    async def _execute(
        self,
        task: AsyncTaskiqDecoratedTask[Any, Any],
        message: TaskiqMessage,
        delivery: Delivery,
    ) -> tuple[TaskiqMessage, TaskiqResult[Any]]:
        """pre_execute → run → on_error → post_execute; a failing pre_execute fails the task."""
        chain = self.broker.middleware_chain
        try:
            if chain.has("pre_execute"):
                message = await chain.pre_execute(message)
        except TaskRequeuedError as exc:  # a limit deferred it (taskiq.middlewares.task_control)
            result = failed_result(message, exc)
        except Exception as exc:
            logger.warning("pre_execute failed for task %s; it does not run.", message.task_id)
            result = failed_result(message, exc)
        else:
            run = self._runner.run(
                task,
                message,
                executor=self.executor,
                cast_types=self.validate_params,
                delivery=delivery,
            )
            if self._cancels.active:
                is_async = self._runner.is_async(task, self.validate_params)
                run = self._cancels.guard(message, run, is_async)
            result = await run
        error = result.error
        if isinstance(error, TaskRequeuedError):
            return message, result
        if error is None:
            task_log.succeeded(message, result)
        elif not isinstance(error, (TaskRejectedError, TaskCancelledError)):  # never retried
            with task_log.failure_report(message, result, error):
                await chain.on_error(message, result, error)
        if chain.has("post_execute"):
            await chain.post_execute(message, result)
        return message, result

    async def _store(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> bool:
        """Store the result and run post_save; False if the backend failed."""
        self._events.finished(message, result)
        if isinstance(result.error, NoResultError):
            return True  # a retry middleware sent the task again: its last attempt stores
        await self._states.finished(message, result)  # before the result: waiters see both
        if label_bool(message.labels, "skip_result", default=False):
            return True  # fire-and-forget task: nobody waits, so nothing is stored
        try:
            await self.broker.result_backend.set_result(message.task_id, result)
        except Exception:
            logger.exception(
                "Could not store the result of task %s; its delivery is not acknowledged "
                "under ack_type=when_saved, so the broker can deliver it again.",
                message.task_id,
            )
            return False
        if self.broker.middleware_chain.has("post_save"):
            await self.broker.middleware_chain.post_save(message, result)
        return True

    # -- run -----------------------------------------------------------------

    async def run_task(
        self,
        task: AsyncTaskiqDecoratedTask[Any, Any],
        message: TaskiqMessage,
        *,
        delivery: Delivery | None = None,
    ) -> TaskiqResult[Any]:
        """Run the task with its dependencies and cast arguments; capture value or error."""
        return await self._runner.run(
            task,
            message,
            executor=self.executor,
            cast_types=self.validate_params,
            delivery=delivery,
        )


def _states_key(broker: AsyncBroker) -> tuple[int, bool, bool]:
    """What decides where states and events go: the result backend and the switches."""
    return id(broker.result_backend), broker.record_task_states, broker.publish_events


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is None:
        return
    try:
        await aclose()
    except Exception:
        logger.exception("The broker's listen() generator failed while closing.")


async def _release_unsettled(delivery: Delivery) -> None:
    """Give back a delivery the receiver will not settle (see `AckableMessage.nack`)."""
    if delivery.settled:
        return
    try:
        await delivery.release()
    except Exception:
        logger.exception("Could not hand a delivery back; the broker will redeliver it later.")

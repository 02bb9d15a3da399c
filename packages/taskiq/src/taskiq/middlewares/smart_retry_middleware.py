"""Retry a failed task after a delay: fixed or exponential backoff, optional jitter.

How the delayed retry travels, in order of preference:

1. ``schedule_source`` given: the retry is stored there as a one-off
   `ScheduledTask` at *now + delay*, and the scheduler sends it (it survives
   worker restarts; it is a new delivery of the task, see docs/middlewares.md);
2. the broker declares ``supports_delayed_delivery = True``: the retry is sent
   at once with a ``delay`` label and the broker holds it back;
3. otherwise (``InMemoryBroker``, ZeroMQ, any broker without delays): the
   worker keeps an asyncio timer and sends the retry when it fires. Timers do
   not survive the process: on a clean shutdown the pending retries are sent
   immediately rather than lost.

Labels: those of `SimpleRetryMiddleware`, plus the base delay of the task in
seconds: ``retry_delay``, or Taskiq's ``delay`` (default ``default_delay``).
Brokers with delayed delivery also hold back the *first* run of a message
labelled ``delay``; ``retry_delay`` delays only the retries.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from taskiq.abc.schedule_source import ScheduleSource
from taskiq.message import TaskiqMessage
from taskiq.middlewares._labels import label_float
from taskiq.middlewares.backoff import retry_delay
from taskiq.middlewares.simple_retry_middleware import SimpleRetryMiddleware
from taskiq.result import TaskiqResult
from taskiq.scheduler.scheduled_task import ScheduledTask

logger = logging.getLogger("taskiq.middlewares.retry")

#: Label that keeps the task's own base delay while ``delay`` carries the
#: computed delay of one retry to the broker.
BASE_DELAY_LABEL = "_retry_base_delay"

#: Label setting a task's base retry delay without delaying its first run.
RETRY_DELAY_LABEL = "retry_delay"

#: Brokers that hold back a message carrying a ``delay`` label set this to True.
DELAY_SUPPORT_ATTRIBUTE = "supports_delayed_delivery"


@dataclass
class _PendingRetry:
    """A retry waiting on a local timer, with the failure to store if it cannot be sent."""

    message: TaskiqMessage
    retry: int
    failure: TaskiqResult[Any]


class SmartRetryMiddleware(SimpleRetryMiddleware):
    """`SimpleRetryMiddleware` with a delay before each retry.

    ``use_delay_exponent`` doubles the delay on each retry, capped at
    ``max_delay_exponent`` seconds; ``use_jitter`` draws the delay from
    ``[delay / 2, delay]``. ``rng`` makes the jitter reproducible in tests.
    """

    def __init__(
        self,
        default_retry_count: int = 3,
        default_retry_label: bool = False,
        no_result_on_retry: bool = True,
        default_delay: float = 5,
        use_jitter: bool = False,
        use_delay_exponent: bool = False,
        max_delay_exponent: float = 60,
        schedule_source: ScheduleSource | None = None,
        types_of_exceptions: Iterable[type[BaseException]] | type[BaseException] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            default_retry_count,
            default_retry_label,
            no_result_on_retry,
            types_of_exceptions,
        )
        if schedule_source is not None and not isinstance(schedule_source, ScheduleSource):
            raise TypeError(
                f"schedule_source must be a taskiq ScheduleSource or None, got "
                f"{schedule_source!r}.",
            )
        self.default_delay = default_delay
        self.use_jitter = use_jitter
        self.use_delay_exponent = use_delay_exponent
        self.max_delay_exponent = max_delay_exponent
        self.schedule_source = schedule_source
        self.rng = rng
        self._timers: dict[asyncio.Task[None], _PendingRetry] = {}

    def base_delay(self, message: TaskiqMessage) -> float:
        """The task's base delay: ``retry_delay``, else ``delay``, else ``default_delay``.

        Once a retry was sent, the base travels in its own label, because
        ``delay`` may then hold one retry's computed delay.
        """
        labels = message.labels
        declared = label_float(labels, "delay", self.default_delay)
        declared = label_float(labels, RETRY_DELAY_LABEL, declared)
        return label_float(labels, BASE_DELAY_LABEL, declared)

    def make_delay(self, message: TaskiqMessage, retries: int) -> float:
        """Seconds to wait before retry number ``retries`` of this message."""
        return retry_delay(
            self.base_delay(message),
            retries,
            exponential=self.use_delay_exponent,
            cap=self.max_delay_exponent,
            jitter=self.use_jitter,
            rng=self.rng,
        )

    def delay_before(self, message: TaskiqMessage, retry: int) -> float:
        """The delay of this retry (`make_delay`), drawn once so the log shows the real one."""
        return self.make_delay(message, retry)

    async def send_retry(
        self,
        message: TaskiqMessage,
        retry: int,
        result: TaskiqResult[Any],
        delay: float | None = None,
    ) -> None:
        """Send the retry through the schedule source, the broker, or a local timer."""
        if delay is None:
            delay = self.make_delay(message, retry)
        if self.schedule_source is not None:
            await self._schedule(self.schedule_source, message, retry, delay)
        elif getattr(self.broker, DELAY_SUPPORT_ATTRIBUTE, False) is True:
            kicker = self.retry_kicker(message, retry, delay=delay)
            await kicker.kiq(*message.args, **message.kwargs)
        else:
            self._start_timer(_PendingRetry(message, retry, result.model_copy()), delay)

    def retry_labels(self, message: TaskiqMessage, retry: int) -> dict[str, Any]:
        """The task's labels with the retry counted and its base delay kept aside.

        ``delay`` is dropped: it is set again only when the broker itself is
        asked to hold the retry back, so the delay is never applied twice.
        """
        labels = super().retry_labels(message, retry)
        labels[BASE_DELAY_LABEL] = self.base_delay(message)
        labels.pop("delay", None)
        return labels

    async def _schedule(
        self,
        source: ScheduleSource,
        message: TaskiqMessage,
        retry: int,
        delay: float,
    ) -> None:
        when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delay)
        await source.add_schedule(
            ScheduledTask(
                task_name=message.task_name,
                labels=self.retry_labels(message, retry),
                args=list(message.args),
                kwargs=dict(message.kwargs),
                time=when,
            ),
        )

    def _start_timer(self, pending: _PendingRetry, delay: float) -> None:
        timer = asyncio.create_task(self._send_after(pending, delay))
        self._timers[timer] = pending
        timer.add_done_callback(self._forget_timer)

    def _forget_timer(self, timer: asyncio.Task[None]) -> None:
        self._timers.pop(timer, None)

    async def _send_after(self, pending: _PendingRetry, delay: float) -> None:
        await asyncio.sleep(delay)
        current = asyncio.current_task()
        if current is not None:
            # From here on the retry is being sent; shutdown must not send it twice.
            self._timers.pop(current, None)
        await self._send_now(pending)

    async def _send_now(self, pending: _PendingRetry) -> None:
        """Send a timed retry; if that fails, store the failure it was hiding."""
        message = pending.message
        try:
            await super().send_retry(message, pending.retry, pending.failure)
        except Exception:
            logger.exception(
                "Retry %d of task %s could not be sent; storing its last failure instead.",
                pending.retry,
                message.task_id,
            )
            await self.broker.result_backend.set_result(message.task_id, pending.failure)

    @property
    def pending_retries(self) -> int:
        """Retries waiting on a local timer in this process."""
        return len(self._timers)

    async def shutdown(self) -> None:
        """Send retries still waiting on a local timer now, rather than lose them."""
        timers = list(self._timers.items())
        for timer, _ in timers:
            timer.cancel()
        for _, pending in timers:
            logger.warning(
                "Sending retry %d of task %s early: the worker is stopping.",
                pending.retry,
                pending.message.task_id,
            )
            await self._send_now(pending)

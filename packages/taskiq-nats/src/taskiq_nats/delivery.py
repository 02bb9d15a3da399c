"""One JetStream delivery inside a worker, from fetch to settlement.

While the task runs, a heartbeat sends ``in_progress()`` every third of the
consumer's ``ack_wait``, so JetStream never redelivers a task whose worker is
alive, however long it runs; if the worker dies, the heartbeats stop and the
message is redelivered after ``ack_wait``. Settling (ack, reject, nack,
release) stops the heartbeat and happens at most once.

A delivery the receiver lets go of without settling it (processing failed,
e.g. the result could not be stored, or a manual-ack task never acked) is
NAKed with backoff as soon as the message object is released, instead of
being kept alive by heartbeats until the worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from taskiq.acks import AckableMessage
from taskiq.control import log_dead_lettered

from taskiq_nats._errors import NATS_FAILURES
from taskiq_nats.headers import TASK_ID, TASK_NAME

logger = logging.getLogger("taskiq_nats")

#: NAKs of abandoned deliveries that are still being sent (kept so they are not collected).
_BACKGROUND: set[asyncio.Future[None]] = set()

#: Called with the message and a reason; must persist a dead-letter copy or raise.
DeadLetterFn = Callable[[Msg, str], Awaitable[None]]


@dataclass(frozen=True)
class RedeliveryPolicy:
    """How a JetStream delivery is retried: NAK backoff and the delivery limit.

    After delivery ``n`` fails (`NatsAckableMessage.nack`), the message comes back
    after ``min(nak_backoff * 2 ** (n - 1), max_nak_backoff)`` seconds. A message
    delivered more than ``max_deliver`` times is dead-lettered instead of run.
    """

    ack_wait: float = 30.0
    max_deliver: int = 5
    nak_backoff: float = 1.0
    max_nak_backoff: float = 60.0

    def backoff(self, num_delivered: int) -> float:
        """Seconds to wait before delivery number ``num_delivered + 1``."""
        exponent = min(max(num_delivered - 1, 0), 32)
        return float(min(self.nak_backoff * 2**exponent, self.max_nak_backoff))

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between two ``in_progress()`` heartbeats."""
        return max(self.ack_wait / 3, 0.05)


@dataclass
class NatsAckableMessage(AckableMessage):
    """An `AckableMessage` that can also be NAKed for a retry with backoff."""

    nack: Callable[[], Awaitable[None]] | None = None


class Delivery:
    """Heartbeats and settles one JetStream message exactly once."""

    def __init__(
        self,
        msg: Msg,
        policy: RedeliveryPolicy,
        dead_letter: DeadLetterFn,
        on_settled: Callable[[Delivery], None],
    ) -> None:
        self.msg = msg
        self.policy = policy
        self._dead_letter = dead_letter
        self._on_settled = on_settled
        self._settled = False
        self._heartbeat: asyncio.Task[None] | None = None

    def start(self) -> NatsAckableMessage:
        """Start heartbeating and return the message for the receiver."""
        self._heartbeat = asyncio.create_task(self._beat())
        message = NatsAckableMessage(
            data=self.msg.data,
            ack=self.ack,
            reject=self.reject,
            nack=self.nack,
            dead_letter=self.dead_letter_with,
        )
        weakref.finalize(message, self._abandoned, asyncio.get_running_loop())
        return message

    def _abandoned(self, loop: asyncio.AbstractEventLoop) -> None:
        """The receiver dropped the message unsettled: NAK it (from the loop's thread)."""
        if self._settled or loop.is_closed():
            return
        logger.warning("A delivery was dropped without ack or reject; NAKing it for a retry.")
        loop.call_soon_threadsafe(self._spawn_nack)

    def _spawn_nack(self) -> None:
        task = asyncio.ensure_future(self.nack())
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    async def ack(self) -> None:
        """The task is done: JetStream forgets the message."""
        if await self._begin_settling():
            await send_quietly(self.msg.ack(), "ack")

    async def reject(self) -> None:
        """The message must never run again: copy it to the dead-letter stream, then TERM it."""
        await self.dead_letter_with("rejected")

    async def dead_letter_with(self, reason: str) -> None:
        """As `reject`, recording ``reason`` (the receiver's) on the dead letter."""
        if await self._begin_settling():
            await self.dead_letter(reason)

    async def nack(self) -> None:
        """Processing failed: have JetStream redeliver after the policy's backoff."""
        if await self._begin_settling():
            delay = self.policy.backoff(self.msg.metadata.num_delivered)
            await send_quietly(self.msg.nak(delay=delay), "nak")

    async def release(self, delay: float = 0.0) -> None:
        """The worker is stopping before the task finished: redeliver after ``delay`` s."""
        if await self._begin_settling():
            await send_quietly(self.msg.nak(delay=delay or None), "nak")

    async def dead_letter(self, reason: str) -> None:
        """Copy to the dead-letter stream and TERM; if the copy fails, NAK with backoff."""
        try:
            await self._dead_letter(self.msg, reason)
        except NATS_FAILURES:
            logger.exception("Could not dead-letter a message; it will be redelivered.")
            delay = self.policy.backoff(self.msg.metadata.num_delivered)
            await send_quietly(self.msg.nak(delay=delay), "nak")
            return
        await send_quietly(self.msg.term(), "term")
        headers = self.msg.headers or {}
        log_dead_lettered(
            queue=self.msg.subject,
            task_id=headers.get(TASK_ID, f"seq {self.msg.metadata.sequence.stream}"),
            task_name=headers.get(TASK_NAME),
            reason=reason,
        )

    async def _begin_settling(self) -> bool:
        if self._settled:
            return False
        self._settled = True
        await self._stop_heartbeat()
        self._on_settled(self)
        return True

    async def _stop_heartbeat(self) -> None:
        beat = self._heartbeat
        if beat is None or beat is asyncio.current_task():
            return
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.policy.heartbeat_interval)
            await send_quietly(self.msg.in_progress(), "in_progress")


async def send_quietly(action: Awaitable[None], name: str) -> None:
    """Send an acknowledgement; a lost one only costs a redelivery, so log and go on."""
    try:
        await action
    except NATS_FAILURES as exc:
        logger.warning("NATS %s failed (%r); the message may be redelivered.", name, exc)

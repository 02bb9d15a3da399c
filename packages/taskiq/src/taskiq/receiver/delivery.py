"""One delivery from ``broker.listen()`` and its settlement, which happens at most once."""

from __future__ import annotations

import inspect

from taskiq.acks import AckableMessage, SettleCallback
from taskiq.exceptions import TaskiqError


class MalformedMessageError(TaskiqError):
    """A delivery could not be decoded into a task call; it was rejected."""

    __template__ = (
        "Rejected a message that cannot be decoded ({reason}); it starts with {payload!r}. "
        "Check that clients and workers use the same formatter and serializer."
    )


class Delivery:
    """What the broker yielded: plain bytes, or an `AckableMessage` to settle.

    `ack` and `reject` settle the delivery once; every later call does nothing.
    The ack policy, ``Context.ack()``, ``Context.reject()`` and the error paths
    may therefore all ask to settle without ever settling twice. Plain bytes
    need no settlement, so both calls are no-ops for them.
    """

    __slots__ = ("dead_lettered", "message", "settled")

    def __init__(self, message: bytes | str | AckableMessage) -> None:
        self.message = message
        self.settled = not isinstance(message, AckableMessage)
        #: True once the broker's dead-letter store took it (the broker logged it).
        self.dead_lettered = False

    @property
    def data(self) -> bytes:
        """The payload as bytes, whatever form the broker gave it in."""
        data = self.message.data if isinstance(self.message, AckableMessage) else self.message
        return data.encode() if isinstance(data, str) else data

    async def ack(self) -> None:
        """Confirm the delivery: the broker will not deliver it again."""
        if isinstance(self.message, AckableMessage):
            await self._settle(self.message.ack)

    async def reject(self, reason: str) -> None:
        """Refuse the delivery for good: dead-letter it with ``reason`` where the broker can.

        Brokers without a dead-letter store reject it (or, without that, ack it).
        """
        message = self.message
        if not isinstance(message, AckableMessage):
            return
        dead_letter = message.dead_letter
        if dead_letter is None:
            await self._settle(message.reject or message.ack)
            return
        if self.settled:
            return
        self.settled = True
        outcome = dead_letter(reason)
        if inspect.isawaitable(outcome):
            await outcome
        self.dead_lettered = True

    async def release(self) -> None:
        """Hand an unsettled delivery back for prompt redelivery, if the broker can.

        Without a ``nack`` callback the delivery stays unsettled and the broker
        redelivers it after its own timeout.
        """
        if isinstance(self.message, AckableMessage) and self.message.nack is not None:
            await self._settle(self.message.nack)

    async def _settle(self, callback: SettleCallback) -> None:
        if self.settled:
            return
        self.settled = True
        outcome = callback()
        if inspect.isawaitable(outcome):
            await outcome

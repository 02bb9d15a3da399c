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

    __slots__ = ("message", "settled")

    def __init__(self, message: bytes | str | AckableMessage) -> None:
        self.message = message
        self.settled = not isinstance(message, AckableMessage)

    @property
    def data(self) -> bytes:
        """The payload as bytes, whatever form the broker gave it in."""
        data = self.message.data if isinstance(self.message, AckableMessage) else self.message
        return data.encode() if isinstance(data, str) else data

    async def ack(self) -> None:
        """Confirm the delivery: the broker will not deliver it again."""
        if isinstance(self.message, AckableMessage):
            await self._settle(self.message.ack)

    async def reject(self) -> None:
        """Refuse the delivery for good (dead-letter where the broker can; else ack)."""
        if isinstance(self.message, AckableMessage):
            await self._settle(self.message.reject or self.message.ack)

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

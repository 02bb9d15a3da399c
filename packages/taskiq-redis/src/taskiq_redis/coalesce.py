"""One round trip for what many tasks ask of Redis in the same event-loop turn.

A worker that fetched a batch of deliveries starts their tasks together, so they
finish, store their results and acknowledge their deliveries together too. Sent
one by one that is a round trip per task and per step, which is most of a
worker's time on a fast task (benchmarks/README.md, "Findings"). `TurnBatcher`
collects the items submitted until the loop gets back to it and sends them with
one call; every submitter still waits for the outcome of its own item and gets
the batch's exception if the call failed, so per-item retries keep working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

_Item = TypeVar("_Item")

#: Most items sent by one call; a larger turn is sent in several.
DEFAULT_MAX_BATCH = 500


class TurnBatcher(Generic[_Item]):
    """Sends the items submitted during one event-loop turn with one ``send`` call."""

    def __init__(
        self,
        send: Callable[[list[_Item]], Awaitable[None]],
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._send = send
        self._max_batch = max(1, max_batch)
        self._pending: list[tuple[_Item, asyncio.Future[None]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def submit(self, item: _Item) -> None:
        """Send ``item`` with the others of this turn; raise what sending them raised."""
        await self.post(item)

    def post(self, item: _Item) -> asyncio.Future[None]:
        """Queue ``item`` for this turn's call without waiting; the future tells the outcome."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        if self._sender is None or self._sender.get_loop() is not loop:
            # The sender's first step runs after everything already scheduled for this
            # turn, so every task finishing in this turn joins the same batch.
            self._pending = []
            self._sender = loop.create_task(self._send_pending())
            self._sending.add(self._sender)
            self._sender.add_done_callback(self._sending.discard)
        self._pending.append((item, waiter))
        return waiter

    async def flush(self) -> None:
        """Wait until everything queued so far was sent (or failed)."""
        loop = asyncio.get_running_loop()
        sending = [task for task in self._sending if task.get_loop() is loop]
        if sending:
            await asyncio.gather(*sending, return_exceptions=True)

    async def _send_pending(self) -> None:
        batch, self._pending, self._sender = self._pending, [], None
        try:
            for start in range(0, len(batch), self._max_batch):
                chunk = batch[start : start + self._max_batch]
                try:
                    await self._send([item for item, _ in chunk])
                except Exception as exc:  # every waiter of the chunk raises it
                    _settle(chunk, exc)
                else:
                    _settle(chunk, None)
        finally:  # cancelled: nobody is left waiting forever
            for _, waiter in batch:
                waiter.cancel()


def _settle(
    chunk: list[tuple[_Item, asyncio.Future[None]]],
    error: Exception | None,
) -> None:
    for _, waiter in chunk:
        if waiter.done():  # its submitter was cancelled meanwhile
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

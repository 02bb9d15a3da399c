"""Awaiting something unless the worker is told to stop first."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator, Awaitable
from typing import Any, Literal, TypeVar

_T = TypeVar("_T")


class _Marker(enum.Enum):
    STOPPED = "stopped"
    END = "end"


#: `unless_stopped` returns this when ``stop`` finished first.
STOPPED: Literal[_Marker.STOPPED] = _Marker.STOPPED
#: `next_or_end` returns this when the iterator is exhausted.
END: Literal[_Marker.END] = _Marker.END
#: Seconds between two cancellations of an awaitable that ignored the first.
RECANCEL_EVERY = 0.1


async def unless_stopped(
    awaitable: Awaitable[_T],
    stop: asyncio.Future[Any],
) -> _T | Literal[_Marker.STOPPED]:
    """Await ``awaitable``, or cancel it and return `STOPPED` as soon as ``stop`` is done.

    If both finish together, the awaitable's value wins so that nothing it
    fetched is dropped unseen.
    """
    if stop.done():
        _discard(awaitable)
        return STOPPED
    pending = asyncio.ensure_future(awaitable)
    try:
        await asyncio.wait({pending, stop}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        await cancel_for_sure(pending)  # a generator must not be running when it is closed
        raise
    await cancel_for_sure(pending)
    if pending.cancelled():
        return STOPPED
    return pending.result()


async def cancel_for_sure(pending: asyncio.Future[Any]) -> None:
    """Cancel ``pending`` until it has really ended.

    Some drivers lose a cancellation (redis-py on Python 3.11 swallows one that
    lands inside its own ``asyncio.wait_for``) and would go on waiting for a
    message forever, hanging the worker's shutdown; so cancel again, every
    `RECANCEL_EVERY` seconds, until the awaitable is done.
    """
    while not pending.done():
        pending.cancel()
        await asyncio.wait({pending}, timeout=RECANCEL_EVERY)


async def next_or_end(iterator: AsyncIterator[_T]) -> _T | Literal[_Marker.END]:
    """The next item of ``iterator``, or `END` when it is exhausted."""
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return END


def _discard(awaitable: Awaitable[Any]) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:  # a coroutine never awaited would warn
        close()

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
        pending.cancel()
        await asyncio.wait({pending})  # a generator must not be running when it is closed
        raise
    if not pending.done():
        pending.cancel()
        await asyncio.wait({pending})
    if pending.cancelled():
        return STOPPED
    return pending.result()


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

"""Stop fetching from a broker at once, or after a number of deliveries.

A worker must stop taking messages the moment it is asked to stop, even while
``broker.listen()`` waits on an empty queue, and a child that has reached
``--max-tasks-per-child`` must not take one message more than it will run:
anything it fetched and never started would be stranded in a dying process.

`guarded_listen` wraps a broker's ``listen`` so that the receiver sees the stream
end in both cases; the receiver then finishes what it already holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage

logger = logging.getLogger("taskiq.worker")

Delivery = bytes | AckableMessage
_STOPPED: Any = object()


@contextlib.contextmanager
def guarded_listen(
    broker: AsyncBroker,
    stop: asyncio.Event,
    limit: int | None = None,
    on_limit: Callable[[], None] | None = None,
) -> Iterator[None]:
    """While active, ``broker.listen()`` ends when ``stop`` is set or ``limit`` messages passed.

    ``on_limit`` is called once, right after the last allowed delivery was
    handed over: the process can announce that it retires before its last
    tasks finish, so that its replacement starts at once. The broker's own
    ``listen`` is restored on exit, so a broker can be served again later.
    """
    had_own = "listen" in vars(broker)
    original = broker.listen

    def guarded() -> AsyncGenerator[Delivery, None]:
        return _guarded_stream(original(), stop, limit, on_limit)

    # The receiver calls ``broker.listen()``; replacing it on the instance keeps
    # every broker usable without a cooperating subclass.
    setattr(broker, "listen", guarded)  # noqa: B010
    try:
        yield
    finally:
        if had_own:
            setattr(broker, "listen", original)  # noqa: B010
        else:
            delattr(broker, "listen")


async def _guarded_stream(
    stream: AsyncGenerator[Delivery, None],
    stop: asyncio.Event,
    limit: int | None,
    on_limit: Callable[[], None] | None,
) -> AsyncGenerator[Delivery, None]:
    fetched = 0
    try:
        while not stop.is_set() and (limit is None or fetched < limit):
            message = await _next_unless_stopped(stream, stop)
            if message is _STOPPED:
                return
            fetched += 1
            yield message
        if limit is not None and fetched >= limit:
            logger.info("Fetched %d messages, the --max-tasks-per-child limit.", fetched)
            if on_limit is not None:
                on_limit()
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()


async def _next_unless_stopped(stream: AsyncIterator[Delivery], stop: asyncio.Event) -> Any:
    """The next delivery, or `_STOPPED` when the stream ends or ``stop`` wins the race.

    A delivery that arrives while the fetch is being cancelled is still
    returned: dropping it here would lose a message the broker already handed out.
    """
    fetch = asyncio.ensure_future(stream.__anext__())
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        fetch.cancel()
        raise
    finally:
        stopper.cancel()
    if not fetch.done():
        fetch.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await fetch
    if fetch.cancelled():
        return _STOPPED
    error = fetch.exception()
    if isinstance(error, StopAsyncIteration):
        return _STOPPED
    if error is not None:
        raise error
    return fetch.result()

"""What a worker process adds around ``broker.listen()``: a fetch limit and sure cancellation.

A child that has reached ``--max-tasks-per-child`` must not take one message
more than it will run (anything fetched and never started would be stranded
in a dying process), and its replacement should start right away rather than
after the old child's last tasks end: the stream ends after ``limit``
deliveries and ``on_limit`` runs right after the last one is handed over.

When the worker stops, the receiver cancels the pending fetch. Some drivers
lose that cancellation (redis-py on Python 3.11 swallows it when it lands in
``asyncio.wait_for``), and the fetch would then wait forever for a message.
Here a cancelled fetch is cancelled again until it really ends; if it ends
with a delivery after all, that delivery is handed over rather than dropped.
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

Delivery = bytes | str | AckableMessage
_RECANCEL_EVERY = 0.1
_NOTHING: Any = object()


@contextlib.contextmanager
def steady_listen(
    broker: AsyncBroker,
    limit: int | None = None,
    on_limit: Callable[[], None] | None = None,
) -> Iterator[None]:
    """While active, ``broker.listen()`` is cancellable for sure and ends after ``limit``.

    The broker's own ``listen`` is restored on exit, so the broker can be
    served again later in the same process.
    """
    had_own = "listen" in vars(broker)
    original = broker.listen

    def steady() -> AsyncGenerator[Delivery, None]:
        return _steady_stream(original(), limit, on_limit)

    # The receiver calls ``broker.listen()``; replacing it on the instance keeps
    # every broker usable without a cooperating subclass.
    setattr(broker, "listen", steady)  # noqa: B010
    try:
        yield
    finally:
        if had_own:
            setattr(broker, "listen", original)  # noqa: B010
        else:
            delattr(broker, "listen")


async def _steady_stream(
    stream: AsyncGenerator[Delivery, None],
    limit: int | None,
    on_limit: Callable[[], None] | None,
) -> AsyncGenerator[Delivery, None]:
    fetched = 0
    try:
        while limit is None or fetched < limit:
            delivery = await _fetch(stream)
            if delivery is _NOTHING:
                return
            fetched += 1
            yield delivery
    finally:
        await stream.aclose()
    logger.info("Took %d messages, the --max-tasks-per-child limit.", fetched)
    if on_limit is not None:
        on_limit()


async def _fetch(stream: AsyncIterator[Delivery]) -> Any:
    """The next delivery, or `_NOTHING` at the end of the stream."""
    fetch = asyncio.ensure_future(stream.__anext__())
    try:
        return await asyncio.shield(fetch)
    except StopAsyncIteration:
        return _NOTHING
    except asyncio.CancelledError:
        delivery = await _cancel_for_sure(fetch)
        if delivery is _NOTHING:
            raise
        return delivery  # it arrived as we stopped: the receiver decides


async def _cancel_for_sure(fetch: asyncio.Future[Delivery]) -> Any:
    """Cancel ``fetch`` until it ends; its delivery if it still produced one."""
    while not fetch.done():
        fetch.cancel()
        await asyncio.wait({fetch}, timeout=_RECANCEL_EVERY)
    if fetch.cancelled() or fetch.exception() is not None:
        return _NOTHING
    return fetch.result()

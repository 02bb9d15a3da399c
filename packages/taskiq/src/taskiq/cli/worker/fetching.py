"""What a worker process adds around ``broker.listen()``: a fetch limit, and
reopening it after a failure (`taskiq.cli.worker.relisten`).

A child that has reached ``--max-tasks-per-child`` must not take one message
more than it will run (anything fetched and never started would be stranded
in a dying process), and its replacement should start right away rather than
after the old child's last tasks end: the stream ends after ``limit``
deliveries and ``on_limit`` runs right after the last one is handed over.

(A driver that loses the cancellation of a pending fetch is handled by the
receiver itself, see `taskiq.receiver.stop.cancel_for_sure`.)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage
from taskiq.cli.worker.relisten import relisten
from taskiq.reconnect import ReconnectBackoff, target_of

logger = logging.getLogger("taskiq.worker")

Delivery = bytes | str | AckableMessage
_NOTHING: Any = object()


@contextlib.contextmanager
def steady_listen(
    broker: AsyncBroker,
    limit: int | None = None,
    on_limit: Callable[[], None] | None = None,
) -> Iterator[None]:
    """While active, ``broker.listen()`` ends after ``limit`` deliveries.

    The broker's own ``listen`` is restored on exit, so the broker can be
    served again later in the same process.
    """
    had_own = "listen" in vars(broker)
    original = broker.listen

    backoff = ReconnectBackoff(*target_of(broker), log=logger)

    def steady() -> AsyncGenerator[Delivery, None]:
        return _steady_stream(broker, relisten(original, backoff), limit, on_limit)

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
    broker: AsyncBroker,
    stream: AsyncGenerator[Delivery, None],
    limit: int | None,
    on_limit: Callable[[], None] | None,
) -> AsyncGenerator[Delivery, None]:
    fetched = 0
    # The receiver publishes its room before its first fetch, which runs this body:
    # brokers that fetch in batches must not take more than the limit leaves either.
    receiver_room = broker.delivery_room

    def room_within_limit() -> int | None:
        room = receiver_room()
        if limit is None:
            return room
        left = max(limit - fetched, 1)
        return left if room is None else min(room, left)

    broker.delivery_room = room_within_limit
    try:
        while limit is None or fetched < limit:
            delivery = await _fetch(stream)
            if delivery is _NOTHING:
                return
            fetched += 1
            yield delivery
    finally:
        if broker.delivery_room is room_within_limit:
            broker.delivery_room = receiver_room
        await stream.aclose()
    logger.info("Took %d messages, the --max-tasks-per-child limit.", fetched)
    if on_limit is not None:
        on_limit()


async def _fetch(stream: AsyncIterator[Delivery]) -> Any:
    """The next delivery, or `_NOTHING` at the end of the stream."""
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return _NOTHING

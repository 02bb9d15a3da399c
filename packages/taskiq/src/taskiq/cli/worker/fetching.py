"""Stop fetching from a broker after a number of deliveries, and say so at once.

A child that has reached ``--max-tasks-per-child`` must not take one message
more than it will run (anything fetched and never started would be stranded
in a dying process), and its replacement should start right away rather
than after the old child's last tasks end.

`limited_listen` wraps a broker's ``listen`` so that the stream ends after
``limit`` deliveries and ``on_limit`` runs right after the last one is handed
over; the receiver then finishes what it holds and returns.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator, Callable, Iterator

from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage

logger = logging.getLogger("taskiq.worker")

Delivery = bytes | str | AckableMessage


@contextlib.contextmanager
def limited_listen(
    broker: AsyncBroker,
    limit: int | None,
    on_limit: Callable[[], None],
) -> Iterator[None]:
    """While active, ``broker.listen()`` ends after ``limit`` deliveries (None: no limit).

    The broker's own ``listen`` is restored on exit, so the broker can be
    served again later in the same process.
    """
    if limit is None:
        yield
        return
    had_own = "listen" in vars(broker)
    original = broker.listen

    def limited() -> AsyncGenerator[Delivery, None]:
        return _limited_stream(original(), limit, on_limit)

    # The receiver calls ``broker.listen()``; replacing it on the instance keeps
    # every broker usable without a cooperating subclass.
    setattr(broker, "listen", limited)  # noqa: B010
    try:
        yield
    finally:
        if had_own:
            setattr(broker, "listen", original)  # noqa: B010
        else:
            delattr(broker, "listen")


async def _limited_stream(
    stream: AsyncGenerator[Delivery, None],
    limit: int,
    on_limit: Callable[[], None],
) -> AsyncGenerator[Delivery, None]:
    fetched = 0
    try:
        async for delivery in stream:
            fetched += 1
            yield delivery
            if fetched >= limit:
                break
    finally:
        await stream.aclose()
    if fetched >= limit:
        logger.info("Took %d messages, the --max-tasks-per-child limit.", fetched)
        on_limit()

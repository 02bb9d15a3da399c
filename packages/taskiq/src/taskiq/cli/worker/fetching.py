"""What a worker process adds around the broker's stream: a fetch limit, and
reopening it after a failure (`taskiq.cli.worker.relisten`).

A child that has reached ``--max-tasks-per-child`` must not take one message
more than it will run (anything fetched and never started would be stranded
in a dying process), and its replacement should start right away rather than
after the old child's last tasks end: the stream ends after ``limit``
deliveries and ``on_limit`` runs right after the last one is handed over.
The limit also narrows the receiver's fetch budget (`taskiq.fetch_budget`), so a
broker that fetches in batches never takes more than the child will run.

`steady_source` returns a `Receiver.stream_source`: the receiver opens the stream
through it, and the broker itself is left as it is.

(A driver that loses the cancellation of a pending fetch is handled by the
receiver itself, see `taskiq.receiver.stop.cancel_for_sure`.)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage
from taskiq.cli.worker.relisten import relisten
from taskiq.fetch_budget import FetchBudget, listen_within
from taskiq.reconnect import ReconnectBackoff, target_of

logger = logging.getLogger("taskiq.worker")

Delivery = bytes | str | AckableMessage
Source = Callable[[AsyncBroker, FetchBudget], AsyncGenerator[Delivery, None]]
_NOTHING: Any = object()


def steady_source(
    limit: int | None = None,
    on_limit: Callable[[], None] | None = None,
) -> Source:
    """A stream source that ends after ``limit`` deliveries and reopens a failed stream."""

    def open_steady(broker: AsyncBroker, budget: FetchBudget) -> AsyncGenerator[Delivery, None]:
        return _steady_stream(broker, budget, limit, on_limit)

    return open_steady


async def _steady_stream(
    broker: AsyncBroker,
    budget: FetchBudget,
    limit: int | None,
    on_limit: Callable[[], None] | None,
) -> AsyncGenerator[Delivery, None]:
    fetched = 0
    if limit is not None:  # batch fetches must not take more than the limit leaves
        budget = budget.within(lambda: limit - fetched)
    backoff = ReconnectBackoff(*target_of(broker), log=logger)
    stream = relisten(lambda: listen_within(broker, budget), backoff)
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
    try:
        return await stream.__anext__()
    except StopAsyncIteration:
        return _NOTHING

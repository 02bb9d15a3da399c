"""Leases on deliveries: why a live worker never loses a long task to another.

Redis hands a delivered stream entry to another consumer once it has been idle
(unacknowledged and untouched) for ``idle_timeout``. A worker that is alive
keeps touching every entry it holds, every quarter of that timeout, for as long
as the entry is unsettled: whether it waits in the prefetch queue or runs for an
hour. Only a worker that died (or lost Redis for longer than the timeout) stops
touching its entries, and only then are they redelivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from taskiq_redis.errors import TRANSIENT_ERRORS
from taskiq_redis.stream_scripts import StreamScripts

logger = logging.getLogger("taskiq_redis.leases")

#: Most ids touched by one script call.
EXTEND_BATCH = 500


@dataclass
class Delivery:
    """One stream entry this consumer holds and has not settled yet."""

    stream: str
    entry_id: str
    fields: dict[bytes, bytes]
    settling: bool = False
    key: tuple[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.key = (self.stream, self.entry_id)


class LeaseKeeper:
    """Holds this consumer's unsettled deliveries and keeps their leases alive."""

    def __init__(self, scripts: StreamScripts, group: str, consumer: str) -> None:
        self.scripts = scripts
        self.group = group
        self.consumer = consumer
        self.held: dict[tuple[str, str], Delivery] = {}

    def hold(self, delivery: Delivery) -> None:
        """Start keeping the lease of ``delivery``."""
        self.held[delivery.key] = delivery

    def release(self, delivery: Delivery) -> None:
        """Stop keeping the lease (the delivery was settled or given away)."""
        self.held.pop(delivery.key, None)

    async def run(self, interval: float, stopping: asyncio.Event) -> None:
        """Extend every lease each ``interval`` seconds until ``stopping`` is set."""
        while not stopping.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval)
            if not stopping.is_set():
                await self.extend_all()

    async def extend_all(self) -> None:
        """Touch every held entry once; forget the ones another consumer took over."""
        by_stream: defaultdict[str, list[str]] = defaultdict(list)
        for stream, entry_id in list(self.held):
            by_stream[stream].append(entry_id)
        for stream, ids in by_stream.items():
            for start in range(0, len(ids), EXTEND_BATCH):
                await self._extend(stream, ids[start : start + EXTEND_BATCH])

    async def _extend(self, stream: str, ids: list[str]) -> None:
        try:
            kept = await self.scripts.extend(stream, self.group, self.consumer, ids)
        except TRANSIENT_ERRORS as exc:
            logger.warning("Could not extend %d leases on %s: %s", len(ids), stream, exc)
            return
        except Exception as exc:  # a server error must not end renewal for every lease
            logger.warning(
                "Could not extend %d leases on %s (%s: %s); trying again next round.",
                len(ids),
                stream,
                type(exc).__name__,
                exc,
            )
            logger.debug("Lease renewal failure.", exc_info=True)
            return
        for entry_id in ids:
            delivery = self.held.get((stream, entry_id))
            if entry_id in kept or delivery is None or delivery.settling:
                continue
            logger.warning(
                "Lost the lease of entry %s on %s (Redis was unreachable for longer than "
                "the idle timeout?); another worker may run it too.",
                entry_id,
                stream,
            )
            self.release(delivery)

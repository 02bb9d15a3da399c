"""Queue depth of an `AsyncpgBroker`: exact counts by state, from one query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from taskiq.control.queues import QueueDepth, QueueInspector

if TYPE_CHECKING:
    from taskiq_pg.asyncpg.broker import AsyncpgBroker


class PostgresQueueInspector(QueueInspector):
    """Counts ready, delayed, in-flight and dead rows per queue; purges ready ones."""

    def __init__(self, broker: AsyncpgBroker) -> None:
        self._broker = broker
        self._table = broker.tables.messages

    def queue_names(self) -> Sequence[str]:
        return self._broker.queue_names()

    def _known(self, queue: str | None) -> str:
        name = queue or self._broker.queue_name
        if name not in self.queue_names():
            raise ValueError(
                f"Unknown queue {name!r}; this broker knows {', '.join(self.queue_names())}."
            )
        return name

    async def depth(self, queue: str | None = None) -> QueueDepth:
        name = self._known(queue)
        row = await self._broker.pool.fetchrow(
            "SELECT "
            "count(*) FILTER (WHERE state = 'ready' AND available_at <= now()) AS ready, "
            "count(*) FILTER (WHERE state = 'ready' AND available_at > now()) AS delayed, "
            "count(*) FILTER (WHERE state = 'processing') AS in_flight, "
            "count(*) FILTER (WHERE state = 'dead') AS dead "
            f"FROM {self._table} WHERE queue = $1",
            name,
        )
        return QueueDepth(name, row["ready"], row["delayed"], row["in_flight"], row["dead"])

    async def purge(self, queue: str | None = None) -> int:
        status = await self._broker.pool.execute(
            f"DELETE FROM {self._table} WHERE queue = $1 AND state = 'ready' "
            "AND available_at <= now()",
            self._known(queue),
        )
        return int(status.rsplit(" ", 1)[-1])

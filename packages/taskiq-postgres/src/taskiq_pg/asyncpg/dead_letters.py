"""Dead letters of a PostgreSQL queue: the rows in state ``dead``, with their reason.

Replay turns a dead row back into a ready one (delivery count reset) in one
UPDATE, so a replayed letter can never be lost nor kept twice.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from taskiq.control.dead_letters import DEFAULT_PAGE_SIZE, DeadLetter, DeadLetterPage
from taskiq.control.dead_letters import DeadLetterStore as _Store

if TYPE_CHECKING:
    from taskiq_pg.asyncpg.broker import AsyncpgBroker


def _ids(ids: Collection[str]) -> list[int]:
    """The row ids among ``ids`` (ids that are not numbers name no dead letter)."""
    return [int(i) for i in ids if i.isdigit()]


class PostgresDeadLetters(_Store):
    """The dead rows of one queue of an `AsyncpgBroker`."""

    def __init__(self, broker: AsyncpgBroker, queue: str) -> None:
        self._broker = broker
        self._queue = queue
        self._table = broker.tables.messages

    async def list(
        self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> DeadLetterPage:
        after = int(cursor) if cursor and cursor.isdigit() else 0
        rows = await self._broker.pool.fetch(
            f"SELECT id, task_id, task_name, reason, delivery_count, dead_at, message "
            f"FROM {self._table} WHERE queue = $1 AND state = 'dead' AND id > $2 "
            "ORDER BY id LIMIT $3",
            self._queue,
            after,
            limit + 1,
        )
        letters = tuple(self._letter(row) for row in rows[:limit])
        more = len(rows) > limit
        return DeadLetterPage(letters, letters[-1].id if more and letters else None)

    def _letter(self, row: Any) -> DeadLetter:
        return DeadLetter(
            id=str(row["id"]),
            queue=self._queue,
            task_id=row["task_id"],
            task_name=row["task_name"],
            reason=row["reason"] or "",
            delivery_count=row["delivery_count"],
            time=row["dead_at"],
            message=bytes(row["message"]),
        )

    async def count(self) -> int:
        value = await self._broker.pool.fetchval(
            f"SELECT count(*) FROM {self._table} WHERE queue = $1 AND state = 'dead'",
            self._queue,
        )
        return int(value)

    async def replay(self, ids: Collection[str], *, to_queue: str | None = None) -> int:
        return await self._replay("AND id = ANY($3::bigint[])", to_queue, _ids(ids))

    async def replay_all(self, *, to_queue: str | None = None) -> int:
        return await self._replay("", to_queue)

    async def _replay(self, where: str, to_queue: str | None, *extra: Any) -> int:
        target = to_queue or self._queue
        rows = await self._broker.pool.fetch(
            f"WITH back AS (UPDATE {self._table} SET state = 'ready', queue = $2, "
            "delivery_count = 0, reason = NULL, dead_at = NULL, worker = NULL, "
            f"available_at = now() WHERE queue = $1 AND state = 'dead' {where} RETURNING id) "
            "SELECT count(*) AS n FROM back",
            self._queue,
            target,
            *extra,
        )
        count = int(rows[0]["n"])
        if count:
            await self._broker.pool.execute(
                "SELECT pg_notify($1, $2)", self._broker.tables.channel, target
            )
        return count

    async def delete(self, ids: Collection[str]) -> int:
        return await self._delete("AND id = ANY($2::bigint[])", _ids(ids))

    async def delete_all(self) -> int:
        return await self._delete("")

    async def _delete(self, where: str, *extra: Any) -> int:
        status = await self._broker.pool.execute(
            f"DELETE FROM {self._table} WHERE queue = $1 AND state = 'dead' {where}",
            self._queue,
            *extra,
        )
        return int(status.rsplit(" ", 1)[-1])

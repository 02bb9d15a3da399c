"""The SQL of the messages table: insert, claim, settle, lease, reclaim.

Claiming is one statement: the oldest ready rows of the highest priority whose
``available_at`` has passed are locked ``FOR UPDATE SKIP LOCKED`` (so concurrent
workers never wait on each other nor take the same row) and marked
``processing`` with a lease. A worker renews the leases of what it holds; a row
whose lease ran out (its worker died) is made ready again by `reclaim`, or
dead-lettered once it has been delivered ``max_deliveries`` times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from taskiq_pg.schema import BrokerTables


@dataclass(frozen=True)
class Claimed:
    """One row a worker took: its id, payload and how many times it was delivered."""

    id: int
    message: bytes
    delivery_count: int
    task_id: str | None = None
    task_name: str | None = None


@dataclass(frozen=True)
class MessageStore:
    """Statements on one messages table (every call takes the pool or a connection)."""

    tables: BrokerTables

    async def insert(self, db: Any, row: tuple[Any, ...], delay: float) -> None:
        """Insert one message; wake the listeners now unless it is delayed."""
        t = self.tables.messages
        sql = (
            f"INSERT INTO {t} (queue, task_id, task_name, message, priority, available_at) "
            "VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))"
        )
        if delay > 0:
            await db.execute(sql, *row, delay)
            return
        await db.execute(
            f"WITH added AS ({sql} RETURNING queue) SELECT pg_notify($7, queue) FROM added",
            *row,
            0.0,
            self.tables.channel,
        )

    async def claim(
        self, db: Any, queue: str, worker: str, count: int, lease: float
    ) -> list[Claimed]:
        """Take up to ``count`` ready rows of ``queue`` for ``worker``, highest priority first."""
        t = self.tables.messages
        rows = await db.fetch(
            f"""
            UPDATE {t} SET state = 'processing', worker = $2,
                delivery_count = delivery_count + 1,
                lease_until = now() + make_interval(secs => $4)
            WHERE id IN (
                SELECT id FROM {t}
                WHERE queue = $1 AND state = 'ready' AND available_at <= now()
                ORDER BY priority DESC, id LIMIT $3
                FOR UPDATE SKIP LOCKED)
            RETURNING id, message, delivery_count, priority, task_id, task_name
            """,
            queue,
            worker,
            count,
            lease,
        )
        rows = sorted(rows, key=lambda r: (-r["priority"], r["id"]))
        return [
            Claimed(r["id"], bytes(r["message"]), r["delivery_count"], r["task_id"], r["task_name"])
            for r in rows
        ]

    async def ack(self, db: Any, row_id: int) -> None:
        await db.execute(f"DELETE FROM {self.tables.messages} WHERE id = $1", row_id)

    async def nack(self, db: Any, row_id: int) -> None:
        """Hand a row back for prompt redelivery (its delivery count stays)."""
        await db.execute(
            f"UPDATE {self.tables.messages} SET state = 'ready', worker = NULL, "
            "lease_until = NULL, available_at = now() WHERE id = $1 AND state = 'processing'",
            row_id,
        )
        await db.execute("SELECT pg_notify($1, 'nack')", self.tables.channel)

    async def dead_letter(self, db: Any, row_id: int, reason: str) -> None:
        await db.execute(
            f"UPDATE {self.tables.messages} SET state = 'dead', reason = $2, dead_at = now(), "
            "lease_until = NULL WHERE id = $1",
            row_id,
            reason,
        )

    async def renew(self, db: Any, ids: list[int], lease: float) -> None:
        """Extend the leases of the rows ``ids`` that are still processing."""
        await db.execute(
            f"UPDATE {self.tables.messages} SET lease_until = now() + make_interval(secs => $2) "
            "WHERE id = ANY($1::bigint[]) AND state = 'processing'",
            ids,
            lease,
        )

    async def reclaim(self, db: Any, queue: str, max_deliveries: int) -> int:
        """Make rows whose lease expired ready again (dead past ``max_deliveries``)."""
        t = self.tables.messages
        dead = await db.execute(
            f"UPDATE {t} SET state = 'dead', dead_at = now(), lease_until = NULL, reason = "
            "'delivered ' || delivery_count || ' times without being settled' "
            "WHERE queue = $1 AND state = 'processing' AND lease_until < now() "
            "AND delivery_count >= $2",
            queue,
            max_deliveries,
        )
        ready = await db.execute(
            f"UPDATE {t} SET state = 'ready', worker = NULL, lease_until = NULL "
            "WHERE queue = $1 AND state = 'processing' AND lease_until < now()",
            queue,
        )
        return _count(dead) + _count(ready)


def _count(status: str) -> int:
    """The row count of an asyncpg status string such as ``UPDATE 3``."""
    return int(status.rsplit(" ", 1)[-1])

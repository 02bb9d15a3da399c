"""`AsyncpgBroker`: an at-least-once PostgreSQL broker that never forgets a row.

A sent task is a row (see `taskiq_pg.asyncpg.store`). Workers claim rows with
``FOR UPDATE SKIP LOCKED`` and are woken by LISTEN/NOTIFY; they also poll every
``poll_interval`` seconds, so rows inserted while no worker listened, delayed
rows and rows reclaimed from a dead worker are taken too. Leases are renewed
while a task runs; a row whose worker died is claimable again ``lease`` seconds
later, and dead-lettered after ``max_deliveries`` deliveries.

Labels: ``delay`` (seconds), ``priority`` (higher first) and ``queue_name``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import Any, ClassVar

import asyncpg
from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.control.dead_letters import DeadLetterStore, log_dead_lettered
from taskiq.control.queues import QueueInspector
from taskiq.message import BrokerMessage
from taskiq.time_labels import sent_delay

from taskiq_pg.asyncpg.dead_letters import PostgresDeadLetters
from taskiq_pg.asyncpg.leases import LeaseKeeper
from taskiq_pg.asyncpg.listener import Listener
from taskiq_pg.asyncpg.queues import PostgresQueueInspector
from taskiq_pg.asyncpg.store import Claimed, MessageStore
from taskiq_pg.connection import backoff_for, persist, safe_address
from taskiq_pg.schema import BrokerTables, checked_name, migrate

DEFAULT_DSN = "postgresql://postgres:postgres@localhost:5432/postgres"


class AsyncpgBroker(AsyncBroker):
    """Tasks as rows of one PostgreSQL table, claimed with SKIP LOCKED, at least once."""

    supports_delayed_delivery: ClassVar[bool] = True

    def __init__(
        self,
        dsn: str | Callable[[], str] = DEFAULT_DSN,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        channel_name: str | None = None,
        table_name: str = "taskiq_messages",
        max_retry_attempts: int = 5,
        *,
        queue_name: str = "taskiq",
        lease: float = 30.0,
        poll_interval: float = 1.0,
        fetch_batch: int = 32,
        connection_kwargs: dict[str, Any] | None = None,
        pool_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        if lease < 1 or poll_interval <= 0 or fetch_batch < 1 or max_retry_attempts < 1:
            raise ValueError(
                "lease must be at least 1 s, poll_interval above 0, fetch_batch and "
                f"max_retry_attempts at least 1 (got {lease}, {poll_interval}, "
                f"{fetch_batch}, {max_retry_attempts}).",
            )
        self.dsn = dsn() if callable(dsn) else dsn
        channel = checked_name(channel_name, "channel_name") if channel_name else None
        self.tables = BrokerTables(checked_name(table_name, "table_name"), channel)
        self.queue_name = queue_name
        self.max_deliveries = max_retry_attempts
        self.lease = lease
        self.poll_interval = poll_interval
        self.fetch_batch = fetch_batch
        self._connect_kwargs = connection_kwargs or {}
        self._pool_kwargs = pool_kwargs or {}
        self._store = MessageStore(self.tables)
        self._leases = LeaseKeeper(self._store, lease)
        self._backoff = backoff_for(self.dsn)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._listener: Listener | None = None
        self._pool: Any = None
        self._worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._known_queues = [queue_name]

    @property
    def pool(self) -> Any:
        """The asyncpg pool (after `startup`)."""
        if self._pool is None:
            raise RuntimeError("AsyncpgBroker is not started: call `await broker.startup()`.")
        return self._pool

    def describe(self) -> dict[str, str]:
        return {"url": safe_address(self.dsn), "table": self.tables.messages}

    async def startup(self) -> None:
        """Open the pool, create or migrate the tables, and (in workers) LISTEN."""
        await self._once("pool", self._open_pool)
        if self.is_worker_process:
            await self._once("listen", self._start_listener)
        await super().startup()

    async def _open_pool(self) -> None:
        pool = await asyncpg.create_pool(
            self.dsn, **{"min_size": 1, "max_size": 10, **self._connect_kwargs, **self._pool_kwargs}
        )
        try:
            async with pool.acquire() as connection:
                await migrate(connection, self.tables.version, self.tables.steps())
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def _start_listener(self) -> None:
        listener = Listener(self.dsn, self.tables.channel, self._notified, self._connect_kwargs)
        listener.on_reconnect.append(self._wake.set)
        await listener.start()
        self._listener = listener

    def _notified(self, payload: str) -> None:
        if payload in (self.queue_name, "nack"):
            self._wake.set()

    async def shutdown(self) -> None:
        self._stop.set()
        await self._leases.stop()
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        await super().shutdown()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        self._started_steps.discard("pool")
        self._started_steps.discard("listen")

    async def kick(self, message: BrokerMessage) -> None:
        """Insert the message as a row (waiting through a lost connection)."""
        labels = message.labels
        queue = str(labels.get("queue_name") or self.queue_name)
        if queue not in self._known_queues:
            self._known_queues.append(queue)
        row = (queue, message.task_id, message.task_name, message.message, _priority(labels))
        delay = sent_delay(labels)
        await persist(lambda: self._store.insert(self.pool, row, delay), self._backoff)

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Claim rows of this broker's queue and yield them until shutdown."""
        if self._listener is None:
            await self._start_listener()
        self._leases.start(self.pool)
        pending: list[Claimed] = []
        try:
            await self._reclaim()
            while not self._stop.is_set():
                pending = await self._next_batch()
                while pending:
                    yield self._delivery(pending.pop(0))
        finally:
            for row in pending:
                self._leases.held.discard(row.id)
                await self._settle(self._store.nack, row.id)

    async def _next_batch(self) -> list[Claimed]:
        """The next rows to deliver, waiting for a NOTIFY or the next poll when none are ready."""
        room = self.delivery_room()
        count = max(1, min(self.fetch_batch, room if room is not None else self.fetch_batch))
        self._wake.clear()
        batch = await persist(
            lambda: self._store.claim(self.pool, self.queue_name, self._worker, count, self.lease),
            self._backoff,
        )
        self._leases.held.update(row.id for row in batch)
        if batch:
            return batch
        try:
            await asyncio.wait_for(self._wake.wait(), self.poll_interval)
        except asyncio.TimeoutError:
            await self._reclaim()
        return []

    async def _reclaim(self) -> None:
        await persist(
            lambda: self._store.reclaim(self.pool, self.queue_name, self.max_deliveries),
            self._backoff,
        )

    def _delivery(self, row: Claimed) -> AckableMessage:
        async def ack() -> None:
            await self._finish(self._store.ack, row.id)

        async def nack() -> None:
            await self._finish(self._store.nack, row.id)

        async def dead_letter(reason: str) -> None:
            await self._finish(lambda db, rid: self._store.dead_letter(db, rid, reason), row.id)
            log_dead_lettered(
                queue=self.queue_name, task_id=row.task_id, task_name=row.task_name, reason=reason
            )

        return AckableMessage(
            data=row.message, ack=ack, reject=ack, nack=nack, dead_letter=dead_letter
        )

    async def _finish(self, step: Callable[[Any, int], Any], row_id: int) -> None:
        try:
            await self._settle(step, row_id)
        finally:
            self._leases.held.discard(row_id)

    async def _settle(self, step: Callable[[Any, int], Any], row_id: int) -> None:
        await persist(lambda: step(self.pool, row_id), self._backoff, self._stop)

    def dead_letter_store(self, queue: str | None = None) -> DeadLetterStore:
        """The dead rows of ``queue`` (default: this broker's queue)."""
        return PostgresDeadLetters(self, queue or self.queue_name)

    def queue_inspector(self) -> QueueInspector:
        return PostgresQueueInspector(self)

    def queue_names(self) -> list[str]:
        """The queues this broker consumes or sent to, its own first."""
        return list(self._known_queues)


def _priority(labels: dict[str, Any]) -> int:
    """The ``priority`` label as an int (0 when absent or not a number)."""
    try:
        return int(float(labels.get("priority") or 0))
    except (TypeError, ValueError):
        return 0

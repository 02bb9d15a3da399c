"""`SQLiteBroker`: an at-least-once queue in one SQLite file, no server.

Several ``taskiq worker`` processes and clients on one host share the file. A
worker claims a batch of ready rows (highest ``priority`` first, then oldest),
holds each under a lease its lease thread renews (`taskiq_sqlite.leases`), and
deletes a row when the receiver acknowledges it. A worker that dies stops
renewing: after ``lease`` seconds any live worker takes its rows back, and a row
delivered ``max_deliveries`` times without being settled is dead-lettered.
Rows inserted while no worker ran are simply there when one starts.
Guarantees and numbers: docs/brokers/sqlite.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Callable
from functools import partial
from typing import Any, ClassVar

from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.control.dead_letter_reasons import REJECTED_BY_TASK
from taskiq.control.dead_letters import log_dead_lettered
from taskiq.exceptions import SendTaskError
from taskiq.message import BrokerMessage
from taskiq.reconnect import ReconnectBackoff
from taskiq.time_labels import sent_delay

from taskiq_sqlite import messages
from taskiq_sqlite.changes import DEFAULT_MAX_INTERVAL, ChangeWatcher
from taskiq_sqlite.database import Database, shared
from taskiq_sqlite.dead_letters import SQLiteDeadLetterStore
from taskiq_sqlite.leases import LeaseRenewer
from taskiq_sqlite.paths import checked_path
from taskiq_sqlite.queues import SQLiteQueueInspector

logger = logging.getLogger("taskiq_sqlite.broker")

#: Seconds a delivery stays with its worker without a renewal (renewed every quarter).
DEFAULT_LEASE = 10.0
#: Deliveries of one row before it is dead-lettered as "failed N times".
DEFAULT_MAX_DELIVERIES = 5
#: Most rows one claim takes.
DEFAULT_FETCH_COUNT = 100
#: Seconds between two looks for rows whose lease ran out.
RECLAIM_INTERVAL = 1.0


class SQLiteBroker(AsyncBroker):
    """At-least-once delivery through one SQLite file shared by the processes of one host."""

    supports_delayed_delivery: ClassVar[bool] = True

    def __init__(
        self,
        path: str = "tasks.db",
        queue_name: str = "taskiq",
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        *,
        lease: float = DEFAULT_LEASE,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        fetch_count: int = DEFAULT_FETCH_COUNT,
        poll_interval: float = DEFAULT_MAX_INTERVAL,
        busy_timeout: float = 10.0,
        synchronous: str = "NORMAL",
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        if lease < 0.1:
            raise ValueError(f"lease must be at least 0.1 s, not {lease!r}")
        if max_deliveries < 1 or fetch_count < 1:
            raise ValueError("max_deliveries and fetch_count must be at least 1")
        self.path = checked_path(path)
        self.queue_name = queue_name
        self.lease = lease
        self.max_deliveries = max_deliveries
        self.fetch_count = fetch_count
        self.busy_timeout = busy_timeout
        self.owner = f"{uuid.uuid4().hex[:12]}"
        self.database: Database = shared(self.path, busy_timeout, synchronous)
        self.watcher = ChangeWatcher(self.path, poll_interval)
        self._renewer = LeaseRenewer(self.path, queue_name, self.owner, lease, busy_timeout)
        self._stopping = asyncio.Event()
        self._next_reclaim = 0.0
        self._opened = False

    # -- lifecycle -----------------------------------------------------------

    async def startup(self) -> None:
        """Open the file (creating the tables if missing), then the usual start-up."""
        if not self._opened:
            await self.database.open()
            self._opened = True
        self._stopping = asyncio.Event()
        await super().startup()

    async def shutdown(self) -> None:
        """Stop fetching, give back what this worker still holds, close the file."""
        self._stopping.set()
        await super().shutdown()
        self._renewer.stop()
        self.watcher.close()
        if self._opened:
            try:
                given = await self.database.write(
                    partial(messages.hand_back_all, queue=self.queue_name, owner=self.owner)
                )
                if given:
                    logger.info("Handed %d unfinished deliveries back to %r.", given, self.path)
            except Exception as exc:
                logger.warning(
                    "Could not hand deliveries back (they return after the lease): %s", exc
                )
            self._opened = False
            await self.database.close()

    def describe(self) -> dict[str, str]:
        """The file and the queue, for the worker's banner."""
        return {"file": self.path, "queue": self.queue_name}

    # -- sending -------------------------------------------------------------

    async def kick(self, message: BrokerMessage) -> None:
        """Insert the message; ``delay`` (s) and ``priority`` (int, higher first) labels apply."""
        delay = sent_delay(message.labels)
        priority = _priority(message.labels)
        insert = partial(
            messages.insert,
            queue=self.queue_name,
            message=message.message,
            priority=priority,
            available_at=time.time() + delay,
            task_id=message.task_id,
            task_name=message.task_name,
        )
        try:
            await self.database.write(insert)
        except Exception as exc:
            raise SendTaskError(reason=f"SQLite file {self.path}: {exc}") from exc

    # -- receiving -----------------------------------------------------------

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield deliveries one by one, claiming a batch when the last one is used up."""
        self._renewer.start()
        buffer: deque[messages.Row] = deque()
        backoff = ReconnectBackoff("SQLite", self.path)
        try:
            while not self._stopping.is_set():
                if buffer:
                    yield self._to_message(buffer.popleft())
                    continue
                try:
                    buffer.extend(await self._fetch())
                    backoff.succeeded()
                except Exception as exc:
                    await backoff.wait(exc, self._stopping)
        finally:
            if buffer:
                await self._give_back(list(buffer))

    async def _fetch(self) -> list[messages.Row]:
        """Claim what is ready now, or wait for a change, a due delay or the reclaim tick."""
        await self._reclaim_if_due()
        due, rows = await self.database.read(
            partial(
                messages.claim_if_due,
                begin=self.database.begin,
                queue=self.queue_name,
                owner=self.owner,
                lease=self.lease,
                limit=self._room(),
            )
        )
        if rows:
            return rows
        now = time.time()
        wait = RECLAIM_INTERVAL if due is None else min(RECLAIM_INTERVAL, max(0.0, due - now))
        await self.watcher.wait(wait)
        return []

    def _room(self) -> int:
        room = self.delivery_room()
        return self.fetch_count if room is None else max(1, min(room, self.fetch_count))

    async def _reclaim_if_due(self) -> None:
        if time.monotonic() < self._next_reclaim:
            return
        self._next_reclaim = time.monotonic() + RECLAIM_INTERVAL
        expired = await self.database.read(
            partial(messages.has_expired_leases, queue=self.queue_name)
        )
        if not expired:
            return
        ready, died = await self.database.write(
            partial(messages.reclaim, queue=self.queue_name, max_deliveries=self.max_deliveries)
        )
        if ready:
            logger.warning(
                "Took back %d deliveries whose worker stopped renewing their lease (it died?).",
                ready,
            )
        for dead in died:
            log_dead_lettered(
                queue=self.queue_name,
                task_id=dead.task_id,
                task_name=dead.task_name,
                reason=dead.reason,
            )

    def _to_message(self, row: messages.Row) -> AckableMessage:
        return AckableMessage(
            data=row.message,
            ack=partial(self._ack, row),
            reject=partial(self._dead_letter, row, REJECTED_BY_TASK),
            nack=partial(self._hand_back, row),
            dead_letter=partial(self._dead_letter, row),
        )

    async def _ack(self, row: messages.Row) -> None:
        kept = await self.database.write(partial(messages.ack, row_id=row.id, owner=self.owner))
        if not kept:
            _lost_lease(row)

    async def _hand_back(self, row: messages.Row) -> None:
        await self.database.write(partial(messages.hand_back, row_id=row.id, owner=self.owner))

    async def _give_back(self, rows: list[messages.Row]) -> None:
        try:
            for row in rows:
                await self._hand_back(row)
        except Exception as exc:
            logger.warning(
                "Could not hand %d deliveries back (they return after the lease): %s",
                len(rows),
                exc,
            )

    async def _dead_letter(self, row: messages.Row, reason: str) -> None:
        moved = await self.database.write(
            partial(messages.dead_letter, row_id=row.id, owner=self.owner, reason=reason)
        )
        if not moved:
            _lost_lease(row)
            return
        log_dead_lettered(
            queue=self.queue_name, task_id=row.task_id, task_name=row.task_name, reason=reason
        )

    # -- the control plane ---------------------------------------------------

    def dead_letter_store(self, queue: str | None = None) -> SQLiteDeadLetterStore:
        """The dead letters of ``queue`` (default: this broker's queue) in this file."""
        return SQLiteDeadLetterStore(self.database, queue or self.queue_name)

    def queue_inspector(self) -> SQLiteQueueInspector:
        """Depth and purge of this broker's queue."""
        return SQLiteQueueInspector(self.database, self.queue_name)


def _priority(labels: dict[str, Any]) -> int:
    """The ``priority`` label as an int (higher first); 0 when absent or not a number."""
    value = labels.get("priority")
    if value is None or value == "":
        return 0
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        logger.warning("Ignoring label priority=%r: it is not a number.", value)
        return 0


def _lost_lease(row: messages.Row) -> None:
    logger.warning(
        "Delivery %d (task %s) was no longer held by this worker when it was settled: its "
        "lease ran out (the worker was stuck for longer than the lease?) and another "
        "worker may run it too.",
        row.id,
        row.task_id or "?",
    )

"""`AsyncpgResultBackend`: results in a table, their readiness pushed by NOTIFY.

Storing a result also sends ``NOTIFY <table>_stored, '<task id>'`` in the same
statement; waiters register on one shared LISTEN connection and wake at once
(no 200 ms polling). A waiter checks the table again every second and after
each reconnect, so a notification lost while the connection was down costs at
most that second. The backend also keeps task states, claims and worker
heartbeats (see `taskiq.control`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any, TypeVar

import asyncpg
from pydantic import BaseModel
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.control.claims import ClaimStore
from taskiq.control.task_states import TaskStateRecord, TaskTransition
from taskiq.control.workers import WorkerRegistry
from taskiq.depends.progress_tracker import TaskProgress
from taskiq.exceptions import NoResultError
from taskiq.result import TaskiqResult
from taskiq.serializers import JSONSerializer
from taskiq.serializers.model_codec import dump_model, load_model

from taskiq_pg.asyncpg.claims import PostgresClaims
from taskiq_pg.asyncpg.listener import Listener
from taskiq_pg.asyncpg.workers import PostgresWorkerRegistry
from taskiq_pg.schema import ResultTables, checked_name, migrate

_ReturnType = TypeVar("_ReturnType")
DEFAULT_DSN = "postgresql://postgres:postgres@localhost:5432/postgres"
#: Seconds between two table checks of a waiter (the fallback for a lost NOTIFY).
RECHECK = 1.0


class AsyncpgResultBackend(AsyncResultBackend[_ReturnType]):
    """Results, progress and task states in PostgreSQL; readiness pushed by NOTIFY."""

    def __init__(
        self,
        dsn: str = DEFAULT_DSN,
        keep_results: bool = True,
        table_name: str = "taskiq_results",
        field_for_task_id: str = "text",
        serializer: TaskiqSerializer | None = None,
        *,
        result_ex_time: float | None = None,
        **connect_kwargs: Any,
    ) -> None:
        self.dsn = dsn
        self.keep_results = keep_results
        self.tables = ResultTables(checked_name(table_name, "table_name"))
        self.serializer = serializer or JSONSerializer()
        self.result_ex_time = result_ex_time
        self._connect_kwargs = connect_kwargs
        self._pool: Any = None
        self._listener: Listener | None = None
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._pending_states: list[tuple[str, bytes]] = []
        self._states_written: asyncio.Future[None] | None = None

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise RuntimeError("AsyncpgResultBackend is not started: call `startup()` first.")
        return self._pool

    async def startup(self) -> None:
        """Open the pool and the LISTEN connection; create or migrate the tables."""
        pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=10, **self._connect_kwargs)
        try:
            async with pool.acquire() as connection:
                await migrate(connection, self.tables.version, self.tables.steps())
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def shutdown(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def claim_store(self) -> ClaimStore:
        return PostgresClaims(self)

    def worker_registry(self) -> WorkerRegistry:
        return PostgresWorkerRegistry(self)

    def _expiry(self) -> float | None:
        return self.result_ex_time

    async def set_result(self, task_id: str, result: TaskiqResult[_ReturnType]) -> None:
        await self.pool.execute(
            f"WITH stored AS (INSERT INTO {self.tables.results} (task_id, result, expires_at) "
            "VALUES ($1, $2, now() + make_interval(secs => $3)) ON CONFLICT (task_id) DO "
            "UPDATE SET result = EXCLUDED.result, expires_at = EXCLUDED.expires_at "
            "RETURNING task_id) SELECT pg_notify($4, task_id) FROM stored",
            task_id,
            dump_model(self.serializer, result),
            self._expiry(),
            self.tables.channel,
        )

    async def is_result_ready(self, task_id: str) -> bool:
        value = await self.pool.fetchval(
            f"SELECT result IS NOT NULL FROM {self.tables.results} WHERE task_id = $1 "
            "AND (expires_at IS NULL OR expires_at > now())",
            task_id,
        )
        return bool(value)

    async def wait_for_ready(self, task_id: str, check_interval: float) -> None:
        """Return when the result is stored: woken by its NOTIFY, checking every second."""
        await self._ensure_listener()
        event = asyncio.Event()
        self._waiters[task_id].add(event)
        try:
            while not await self.is_result_ready(task_id):
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(event.wait(), RECHECK)
                event.clear()
        finally:
            self._waiters[task_id].discard(event)
            if not self._waiters[task_id]:
                del self._waiters[task_id]

    async def _ensure_listener(self) -> None:
        if self._listener is None:
            listener = Listener(self.dsn, self.tables.channel, self._stored, self._connect_kwargs)
            listener.on_reconnect.append(self._wake_all)
            self._listener = listener
            await listener.start()

    def _stored(self, task_id: str) -> None:
        for event in self._waiters.get(task_id, ()):
            event.set()

    def _wake_all(self) -> None:
        for events in self._waiters.values():
            for event in events:
                event.set()

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[_ReturnType]:
        raw = await self.pool.fetchval(
            f"SELECT result FROM {self.tables.results} WHERE task_id = $1 "
            "AND (expires_at IS NULL OR expires_at > now())",
            task_id,
        )
        if raw is None:
            raise NoResultError(task_id=task_id)
        if not self.keep_results:
            await self.pool.execute(
                f"DELETE FROM {self.tables.results} WHERE task_id = $1", task_id
            )
        result: TaskiqResult[_ReturnType] = load_model(self.serializer, TaskiqResult, bytes(raw))
        if not with_logs:
            result.log = None
        return result

    async def delete_result(self, task_id: str) -> None:
        """Forget the result, progress and task state of ``task_id``."""
        await self.pool.execute(f"DELETE FROM {self.tables.results} WHERE task_id = $1", task_id)
        await self.pool.execute(f"DELETE FROM {self.tables.states} WHERE task_id = $1", task_id)

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        await self.pool.execute(
            f"INSERT INTO {self.tables.results} (task_id, progress) VALUES ($1, $2) "
            "ON CONFLICT (task_id) DO UPDATE SET progress = EXCLUDED.progress",
            task_id,
            self._dump(progress),
        )

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        raw = await self.pool.fetchval(
            f"SELECT progress FROM {self.tables.results} WHERE task_id = $1", task_id
        )
        return None if raw is None else load_model(self.serializer, TaskProgress, bytes(raw))

    def _dump(self, model: BaseModel) -> bytes:
        return dump_model(self.serializer, model)

    async def record_task_state(self, task_id: str, transition: TaskTransition) -> None:
        """Append ``transition``; the states of one event-loop turn go in one round trip."""
        self._pending_states.append((task_id, transition.to_json_bytes()))
        if self._states_written is None:
            self._states_written = asyncio.ensure_future(self._write_states())
        await asyncio.shield(self._states_written)

    async def _write_states(self) -> None:
        await asyncio.sleep(0)  # let the other tasks of this turn add theirs
        batch, self._pending_states = self._pending_states, []
        self._states_written = None
        await self.pool.executemany(
            f"INSERT INTO {self.tables.states} (task_id, transition) VALUES ($1, $2)", batch
        )

    async def get_task_state(self, task_id: str) -> TaskStateRecord | None:
        rows = await self.pool.fetch(
            f"SELECT transition FROM {self.tables.states} WHERE task_id = $1 ORDER BY id",
            task_id,
        )
        if not rows:
            return None
        transitions = [TaskTransition.from_json(json.loads(bytes(r[0]))) for r in rows]
        return TaskStateRecord.of(task_id, transitions)

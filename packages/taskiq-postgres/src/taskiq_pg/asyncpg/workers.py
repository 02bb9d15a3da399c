"""Worker heartbeats (`taskiq.control.workers`) as rows that expire."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskiq.control.workers import WorkerId, WorkerInfo, WorkerRegistry, sorted_live

if TYPE_CHECKING:
    from taskiq_pg.asyncpg.result_backend import AsyncpgResultBackend


class PostgresWorkerRegistry(WorkerRegistry):
    """Heartbeats in ``<results table>_workers``; expired rows are deleted on publish."""

    def __init__(self, backend: AsyncpgResultBackend[Any]) -> None:
        self._backend = backend
        self._table = backend.tables.workers

    async def publish(self, info: WorkerInfo) -> None:
        pool = self._backend.pool
        await pool.execute(
            f"INSERT INTO {self._table} (key, info, expires_at) "
            "VALUES ($1, $2, now() + make_interval(secs => $3)) ON CONFLICT (key) DO UPDATE "
            "SET info = EXCLUDED.info, expires_at = EXCLUDED.expires_at",
            info.id.key,
            info.to_json(),
            info.expires_in,
        )
        await pool.execute(f"DELETE FROM {self._table} WHERE expires_at < now()")

    async def remove(self, worker: WorkerId) -> None:
        await self._backend.pool.execute(f"DELETE FROM {self._table} WHERE key = $1", worker.key)

    async def list(self) -> list[WorkerInfo]:
        rows = await self._backend.pool.fetch(
            f"SELECT info FROM {self._table} WHERE expires_at > now()"
        )
        return sorted_live([WorkerInfo.from_json(bytes(row[0])) for row in rows])

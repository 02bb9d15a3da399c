"""Claims (`taskiq.control.claims`) as rows with an expiry, each operation one statement."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskiq.control.claims import ClaimStore, check_ttl

if TYPE_CHECKING:
    from taskiq_pg.asyncpg.result_backend import AsyncpgResultBackend


class PostgresClaims(ClaimStore):
    """Claims in ``<results table>_claims``; an expired row counts as free."""

    def __init__(self, backend: AsyncpgResultBackend[Any]) -> None:
        self._backend = backend
        self._table = backend.tables.claims

    async def claim(self, key: str, owner: str, ttl: float) -> str:
        holder = await self._backend.pool.fetchval(
            f"INSERT INTO {self._table} AS c (key, owner, expires_at) "
            "VALUES ($1, $2, now() + make_interval(secs => $3)) "
            "ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, "
            "expires_at = EXCLUDED.expires_at "
            "WHERE c.owner = EXCLUDED.owner OR c.expires_at <= now() RETURNING owner",
            key,
            owner,
            check_ttl(ttl),
        )
        if holder is not None:
            return str(holder)
        return await self.holder(key) or await self.claim(key, owner, ttl)

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        status = await self._backend.pool.execute(
            f"UPDATE {self._table} SET expires_at = now() + make_interval(secs => $3) "
            "WHERE key = $1 AND owner = $2 AND expires_at > now()",
            key,
            owner,
            check_ttl(ttl),
        )
        return bool(str(status).endswith(" 1"))

    async def release(self, key: str, owner: str) -> bool:
        status = await self._backend.pool.execute(
            f"DELETE FROM {self._table} WHERE key = $1 AND owner = $2 AND expires_at > now()",
            key,
            owner,
        )
        return bool(str(status).endswith(" 1"))

    async def holder(self, key: str) -> str | None:
        value = await self._backend.pool.fetchval(
            f"SELECT owner FROM {self._table} WHERE key = $1 AND expires_at > now()", key
        )
        return None if value is None else str(value)

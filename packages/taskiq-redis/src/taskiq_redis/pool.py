"""A bounded connection pool whose checkout costs little when a connection is free.

redis-py's `BlockingConnectionPool` bounds the connections of a process and makes a
command wait for a free one instead of failing. It pays for that on every command:
a condition lock, a timeout timer and metrics on checkout, the lock again on return.
That was a sixth of a sequential ``kiq()`` (benchmarks/README.md). Most of the time
a connection is free and nobody waits, so this pool takes or returns it directly
then, and leaves everything else (waiting, the timeout, maintenance events) to
redis-py. It falls back to plain redis-py behaviour if the pool's internals are
not the ones it knows.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, ConnectionPool


class QuickBlockingPool(BlockingConnectionPool):
    """`BlockingConnectionPool` with a direct path while a connection is free and no one waits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Whether this redis-py has the internals the direct path relies on.
        self.quick = all(
            hasattr(self, name)
            for name in (
                "_available_connections",
                "_condition",
                "get_available_connection",
                "ensure_connection",
            )
        ) and hasattr(self._condition, "_waiters")

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        """A free connection at once if there is one; else wait as redis-py does."""
        if not (self.quick and self._available_connections and self._uncontended()):
            wait_for_one: Any = super().get_connection  # untyped in redis-py
            return await wait_for_one(*args, **kwargs)
        take: Any = self.get_available_connection
        connection = take()
        try:
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: Any) -> None:
        """Return the connection; wake a waiter through redis-py only if there is one."""
        if self.quick and self._uncontended():
            await ConnectionPool.release(self, connection)
            return
        await super().release(connection)

    def _uncontended(self) -> bool:
        """Nobody holds the pool's condition or waits on it, and no maintenance runs."""
        condition: Any = self._condition
        return not (
            condition.locked() or condition._waiters or getattr(self, "_in_maintenance", False)
        )

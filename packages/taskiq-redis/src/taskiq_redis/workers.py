"""Worker heartbeats in Redis: one key per worker child with a TTL, and an index set.

The record key expires on the server (``PX`` = `WorkerInfo.expires_in`), so a child
killed with SIGKILL drops out without anyone's clock being trusted. The index set
only says which keys to read; ids whose key has expired are removed from it when
the registry is listed, and the set itself expires an hour after the last heartbeat.
All keys share one hash tag (see `taskiq_redis.keys`), so the index and records can
be read together on Redis Cluster too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from taskiq.control.workers import WorkerId, WorkerInfo, WorkerRegistry, sorted_live

from taskiq_redis.keys import worker_key, workers_index_key

#: The index set outlives every record by far; each heartbeat re-adds its id anyway.
_INDEX_TTL_MS = 3600 * 1000


class RedisWorkerRegistry(WorkerRegistry):
    """Heartbeats stored through a result backend's Redis client."""

    def __init__(self, client: Callable[[], Any], prefix: str | None) -> None:
        self._client = client
        self.prefix = prefix
        self.index = workers_index_key(prefix)

    async def publish(self, info: WorkerInfo) -> None:
        """SET the record with its TTL and add its id to the index, in one round trip."""
        ttl_ms = max(1, int(info.expires_in * 1000))
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.set(worker_key(self.prefix, info.id.key), info.to_json(), px=ttl_ms)
            pipe.sadd(self.index, info.id.key)
            pipe.pexpire(self.index, max(ttl_ms, _INDEX_TTL_MS))
            await pipe.execute()

    async def remove(self, worker: WorkerId) -> None:
        """Delete the record and its index entry."""
        async with self._client().pipeline(transaction=False) as pipe:
            pipe.delete(worker_key(self.prefix, worker.key))
            pipe.srem(self.index, worker.key)
            await pipe.execute()

    async def list(self) -> list[WorkerInfo]:
        """The records that still exist; index entries of expired ones are pruned."""
        client = self._client()
        ids = sorted(_text(member) for member in await client.smembers(self.index))
        if not ids:
            return []
        raws = await client.mget([worker_key(self.prefix, worker) for worker in ids])
        gone = [worker for worker, raw in zip(ids, raws, strict=True) if raw is None]
        if gone:
            await client.srem(self.index, *gone)
        records = [_read(raw) for raw in raws if raw is not None]
        return sorted_live([info for info in records if info is not None])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _read(raw: Any) -> WorkerInfo | None:
    try:
        return WorkerInfo.from_json(raw)
    except (ValueError, KeyError, TypeError):
        return None

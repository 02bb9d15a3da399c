"""Worker heartbeats in a JetStream key-value bucket with a TTL.

The bucket (``<result bucket>_workers``) is created on first use with ``max_age`` =
`WORKERS_BUCKET_TTL`, which only bounds how long the last record of a dead worker
is stored. Whether a record is live is decided by the record itself: it was written
at ``heartbeat`` and is valid ``expires_in`` seconds (so listing trusts that the
workers' and the reader's clocks agree to within a heartbeat, as NTP gives). A
heartbeat interval above a third of the bucket TTL would let records vanish
between beats: keep ``--heartbeat-interval`` at 20 s or less.
"""

from __future__ import annotations

from collections.abc import Callable

from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyDeletedError, KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue
from taskiq.control.workers import WorkerId, WorkerInfo, WorkerRegistry, sorted_live
from taskiq.exceptions import ResultBackendError

from taskiq_nats._errors import nats_errors
from taskiq_nats.buckets import LazyBucket

#: Seconds the workers bucket keeps a record nobody rewrites (its ``max_age``).
WORKERS_BUCKET_TTL = 60.0


class NATSWorkerRegistry(WorkerRegistry):
    """Heartbeats in the bucket ``bucket``, over a result backend's connection."""

    def __init__(self, client: Callable[[], Client | None], bucket: str) -> None:
        self.bucket = bucket
        config = KeyValueConfig(bucket=bucket, ttl=WORKERS_BUCKET_TTL, storage=StorageType.MEMORY)
        self._bucket = LazyBucket(client, config)

    async def publish(self, info: WorkerInfo) -> None:
        """Put the record under the worker's id."""
        kv = await self._open()
        with nats_errors(ResultBackendError, "Cannot publish the worker heartbeat"):
            await kv.put(info.id.key, info.to_json())

    async def remove(self, worker: WorkerId) -> None:
        """Purge the worker's record."""
        kv = await self._open()
        with nats_errors(ResultBackendError, "Cannot remove the worker heartbeat"):
            await kv.purge(worker.key)

    async def list(self) -> list[WorkerInfo]:
        """The records whose ``heartbeat + expires_in`` is still ahead."""
        kv = await self._open()
        with nats_errors(ResultBackendError, "Cannot list the worker heartbeats"):
            try:
                keys = await kv.keys()
            except NoKeysError:
                return []
            records = [await _read(kv, key) for key in keys]
        return sorted_live([info for info in records if info is not None])

    async def _open(self) -> KeyValue:
        return await self._bucket.open()


async def _read(kv: KeyValue, key: str) -> WorkerInfo | None:
    try:
        entry = await kv.get(key)
    except (KeyNotFoundError, KeyDeletedError):
        return None
    if entry.value is None:
        return None
    try:
        return WorkerInfo.from_json(entry.value)
    except (ValueError, KeyError, TypeError):
        return None

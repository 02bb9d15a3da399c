"""Worker heartbeats kept in this process: the in-memory backend's `WorkerRegistry`.

Only workers in the same process are seen (tests, `InMemoryBroker` apps); records
expire by their own ``heartbeat`` + ``expires_in``.
"""

from __future__ import annotations

from taskiq.control.workers import WorkerId, WorkerInfo, WorkerRegistry, sorted_live


class InmemoryWorkerRegistry(WorkerRegistry):
    """A dict of the latest record per worker; expired ones are dropped when listed."""

    def __init__(self) -> None:
        self._records: dict[str, WorkerInfo] = {}

    async def publish(self, info: WorkerInfo) -> None:
        """Keep ``info`` as the worker's latest record."""
        self._records[info.id.key] = info

    async def remove(self, worker: WorkerId) -> None:
        """Forget the worker's record."""
        self._records.pop(worker.key, None)

    async def list(self) -> list[WorkerInfo]:
        """The live records; expired ones are forgotten."""
        live = sorted_live(list(self._records.values()))
        self._records = {info.id.key: info for info in live}
        return live

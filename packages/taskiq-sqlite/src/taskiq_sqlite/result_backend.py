"""`SQLiteResultBackend`: results, progress and task states in the SQLite file.

Results expire after ``result_ex_time`` seconds (one day unless told otherwise;
None keeps them) and are deleted by the sweep (`taskiq_sqlite.cleanup`); reads
ignore an expired row at once. ``wait_result()`` returns within milliseconds of
the commit: waiters are woken by `taskiq_sqlite.changes` and look up all their
ids in one read (`taskiq_sqlite.readiness`). The backend also holds claims and
worker heartbeats, so the whole control plane works with no server.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.control.claims import ClaimStore
from taskiq.control.task_states import TaskStateRecord, TaskStatus, TaskTransition
from taskiq.control.workers import WorkerRegistry
from taskiq.depends.progress_tracker import TaskProgress
from taskiq.exceptions import (
    NoResultError,
    ResultGetError,
    ResultIsReadyError,
    ResultSetError,
)
from taskiq.result import TaskiqResult
from taskiq.serializers import JSONSerializer
from taskiq.serializers.model_codec import decode_stored, encode_stored

from taskiq_sqlite import store
from taskiq_sqlite.changes import DEFAULT_MAX_INTERVAL, ChangeWatcher
from taskiq_sqlite.claims import SQLiteClaimStore
from taskiq_sqlite.cleanup import DEFAULT_CLEANUP_INTERVAL, DEFAULT_DEAD_LETTER_MAX, sweep_forever
from taskiq_sqlite.database import Database, shared
from taskiq_sqlite.paths import checked_path
from taskiq_sqlite.readiness import Readiness
from taskiq_sqlite.workers import SQLiteWorkerRegistry

_ReturnType = TypeVar("_ReturnType")
logger = logging.getLogger("taskiq_sqlite.result_backend")

#: Seconds a result is kept unless told otherwise: one day.
DEFAULT_RESULT_EX_TIME = 24 * 60 * 60.0
#: States written for every task: queued without waiting (a state must never slow a task).
_PER_TASK = frozenset(
    {TaskStatus.QUEUED, TaskStatus.STARTED, TaskStatus.SUCCEEDED, TaskStatus.FAILED}
)


class SQLiteResultBackend(AsyncResultBackend[_ReturnType]):
    """Results in the SQLite file; ``wait_result()`` returns within milliseconds."""

    def __init__(
        self,
        path: str = "tasks.db",
        keep_results: bool = True,
        result_ex_time: float | None = DEFAULT_RESULT_EX_TIME,
        serializer: TaskiqSerializer | None = None,
        *,
        poll_interval: float = DEFAULT_MAX_INTERVAL,
        cleanup_interval: float = DEFAULT_CLEANUP_INTERVAL,
        dead_letter_max: int = DEFAULT_DEAD_LETTER_MAX,
        busy_timeout: float = 10.0,
        synchronous: str = "NORMAL",
    ) -> None:
        if result_ex_time is not None and not result_ex_time > 0:
            raise ValueError(
                f"result_ex_time must be more than 0 s (or None), not {result_ex_time!r}"
            )
        self.path = checked_path(path)
        self.keep_results = keep_results
        self.result_ex_time = result_ex_time
        self.serializer = serializer or JSONSerializer()
        self.cleanup_interval = cleanup_interval
        self.dead_letter_max = dead_letter_max
        self.database: Database = shared(self.path, busy_timeout, synchronous)
        self.readiness = Readiness(self.database, ChangeWatcher(self.path, poll_interval))
        self._janitor: asyncio.Task[None] | None = None
        self._opened = False

    # -- lifecycle -----------------------------------------------------------

    async def startup(self) -> None:
        """Open the file (creating the tables if missing) and start the periodic sweep."""
        if not self._opened:
            await self.database.open()
            self._opened = True
        if self._janitor is None:
            self._janitor = asyncio.get_running_loop().create_task(
                sweep_forever(self.database, self.cleanup_interval, self.dead_letter_max)
            )

    async def shutdown(self) -> None:
        """Stop the sweep and the readiness polling; close the file when nobody else uses it."""
        if self._janitor is not None:
            self._janitor.cancel()
            self._janitor = None
        self.readiness.close()
        if self._opened:
            self._opened = False
            await self.database.close()

    async def cleanup(self) -> int:
        """Sweep now (see `taskiq_sqlite.cleanup`); how many expired rows were deleted."""
        from taskiq_sqlite.cleanup import sweep

        return await self.database.write(lambda conn: sweep(conn, self.dead_letter_max))

    def claim_store(self) -> ClaimStore:
        """Claims in this file (`taskiq_sqlite.claims`)."""
        return SQLiteClaimStore(self.database)

    def worker_registry(self) -> WorkerRegistry:
        """Worker heartbeats in this file (`taskiq_sqlite.workers`)."""
        return SQLiteWorkerRegistry(self.database)

    # -- results -------------------------------------------------------------

    def _expires_at(self) -> float | None:
        return None if self.result_ex_time is None else time.time() + self.result_ex_time

    async def set_result(self, task_id: str, result: TaskiqResult[_ReturnType]) -> None:
        """Store the result (replacing an earlier one) with its expiry."""
        payload = self._encode(task_id, result)
        write = partial(
            store.put_result, task_id=task_id, payload=payload, expires_at=self._expires_at()
        )
        try:
            await self.database.write(write)
        except sqlite3.Error as exc:
            raise ResultSetError(task_id=task_id, reason=str(exc)) from exc

    async def is_result_ready(self, task_id: str) -> bool:
        """Tell whether an unexpired result is stored for ``task_id``."""
        try:
            return bool(await self.database.read(partial(store.ready_among, task_ids=[task_id])))
        except sqlite3.Error as exc:
            raise ResultIsReadyError(task_id=task_id, reason=str(exc)) from exc

    async def wait_for_ready(self, task_id: str, check_interval: float) -> None:
        """Return within milliseconds of the result's commit, whoever wrote it."""
        await self.readiness.wait(task_id)

    async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[_ReturnType]:
        """Read the result (and delete it when ``keep_results`` is False)."""
        read = partial(
            store.take_result if not self.keep_results else store.get_result, task_id=task_id
        )
        try:
            raw = await (
                self.database.write(read) if not self.keep_results else self.database.read(read)
            )
        except sqlite3.Error as exc:
            raise ResultGetError(task_id=task_id, reason=str(exc)) from exc
        if raw is None:
            raise NoResultError(task_id=task_id)
        result: TaskiqResult[_ReturnType] = self._decode(task_id, raw, TaskiqResult)
        if not with_logs:
            result.log = None
        return result

    async def delete_result(self, task_id: str) -> None:
        """Forget the result, progress and states of ``task_id`` (a missing one is no error)."""
        try:
            await self.database.write(partial(store.delete_task, task_id=task_id))
        except sqlite3.Error as exc:
            raise ResultSetError(task_id=task_id, reason=str(exc)) from exc

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        """Store the task's latest progress, expiring like results."""
        payload = self._encode(task_id, progress)
        write = partial(
            store.put_progress, task_id=task_id, payload=payload, expires_at=self._expires_at()
        )
        try:
            await self.database.write(write)
        except sqlite3.Error as exc:
            raise ResultSetError(task_id=task_id, reason=str(exc)) from exc

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        """The latest progress, or None."""
        try:
            raw = await self.database.read(partial(store.get_progress, task_id=task_id))
        except sqlite3.Error as exc:
            raise ResultGetError(task_id=task_id, reason=str(exc)) from exc
        if raw is None:
            return None
        progress: TaskProgress[Any] = self._decode(task_id, raw, TaskProgress)
        return progress

    # -- task states ---------------------------------------------------------

    async def record_task_state(self, task_id: str, transition: TaskTransition) -> None:
        """Append ``transition``; the per-task ones join the next commit without waiting."""
        write = partial(
            store.append_state,
            task_id=task_id,
            transition=transition.to_json_bytes().decode(),
            expires_at=self._expires_at(),
        )
        if transition.status in _PER_TASK:
            self.database.post(write).add_done_callback(_log_failed_state)
            return
        try:
            await self.database.write(write)
        except sqlite3.Error as exc:
            raise ResultSetError(task_id=task_id, reason=str(exc)) from exc

    async def get_task_state(self, task_id: str) -> TaskStateRecord | None:
        """The state and timeline of ``task_id``; None when the file holds none."""
        try:
            raw = await self.database.read(partial(store.get_states, task_id=task_id))
        except sqlite3.Error as exc:
            raise ResultGetError(task_id=task_id, reason=str(exc)) from exc
        if not raw:
            return None
        return TaskStateRecord.from_json_entries(task_id, raw)

    # -- encoding ------------------------------------------------------------

    def _encode(self, task_id: str, model: BaseModel) -> bytes:
        """Serialize a result or progress; Pickle gets Python objects, the others JSON types."""
        return encode_stored(self.serializer, task_id, model)

    def _decode(self, task_id: str, raw: Any, model: Any) -> Any:
        return decode_stored(self.serializer, task_id, raw, model)


def _log_failed_state(outcome: asyncio.Future[Any]) -> None:
    if outcome.cancelled():
        return
    error = outcome.exception()
    if error is not None:
        logger.warning("Could not record a task state in SQLite: %s", error)

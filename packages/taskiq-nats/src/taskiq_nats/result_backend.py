"""Results and progress in a JetStream key-value bucket, with readiness pushed to waiters.

A waiter opens a KV watch on the result's key before anything else; the watch
first delivers the key's current value (if any) and then every new one, so
``wait_result()`` returns as soon as the worker's ``put`` reaches the server,
with no polling and no window between "check" and "subscribe" in which a
result could be missed. Results expire with the bucket's ``max_age``
(``result_ttl``, one day by default).

Task states (`taskiq.control.task_states`) live under ``state.<task id>`` as one
JSON list of transitions; appending is a compare-and-set on the key's revision,
so a client's "queued" and a worker's "started" written at once both survive.
They expire with the bucket like results.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import nats.errors
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import ValidationError
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.control.claims import ClaimStore
from taskiq.control.events import EventFeed
from taskiq.control.task_states import TaskStateRecord, TaskTransition
from taskiq.control.workers import WorkerRegistry
from taskiq.depends.progress_tracker import TaskProgress
from taskiq.exceptions import (
    NoResultError,
    ResultBackendError,
    ResultGetError,
    ResultIsReadyError,
    ResultSetError,
)
from taskiq.result import TaskiqResult
from taskiq.serializers import JSONSerializer
from taskiq.serializers.model_codec import dump_model, load_model

from taskiq_nats import connection
from taskiq_nats._errors import NATS_FAILURES, NOT_STARTED, nats_errors
from taskiq_nats.buckets import result_key
from taskiq_nats.claims import NATSClaimStore
from taskiq_nats.events import NATSEventFeed, events_subject
from taskiq_nats.workers import NATSWorkerRegistry

_ReturnType = TypeVar("_ReturnType")

#: Seconds a result (and progress) is kept; the bucket's ``max_age``.
DEFAULT_RESULT_TTL = 24 * 3600.0
#: While waiting, how often (seconds) we also check directly, in case a watch
#: missed an update across a reconnect.
WATCH_RECHECK_INTERVAL = 5.0

#: Compare-and-set attempts of one state append before it gives up.
STATE_APPEND_ATTEMPTS = 20

_DELETED = ("DEL", "PURGE")


class NATSKeyValueResultBackend(AsyncResultBackend[_ReturnType]):
    """Stores results in the KV bucket ``bucket_name``; pushes readiness to waiters.

    ``keep_results=False`` deletes a result once it has been read.
    ``result_ttl`` (seconds) is the bucket's ``max_age``; it applies when the
    bucket is created (an existing bucket keeps its own settings).
    """

    def __init__(
        self,
        servers: connection.Servers,
        keep_results: bool = True,
        bucket_name: str = "taskiq_results",
        serializer: TaskiqSerializer | None = None,
        result_ttl: float | None = DEFAULT_RESULT_TTL,
        connect_attempts: int = connection.DEFAULT_CONNECT_ATTEMPTS,
        **connect_options: Any,
    ) -> None:
        self.servers = servers
        self.keep_results = keep_results
        self.bucket_name = bucket_name
        self.serializer = serializer or JSONSerializer()
        self.result_ttl = result_ttl
        self.connect_attempts = connect_attempts
        self.connect_options = connect_options
        self.client: Client | None = None
        self._kv: KeyValue | None = None
        self._workers = NATSWorkerRegistry(lambda: self.client, f"{bucket_name}_workers")
        self._claims = NATSClaimStore(lambda: self.client, f"{bucket_name}_claims", result_ttl)

    def worker_registry(self) -> WorkerRegistry:
        """Worker heartbeats in the bucket ``<bucket_name>_workers`` (`taskiq_nats.workers`)."""
        return self._workers

    def claim_store(self) -> ClaimStore:
        """Claims in the bucket ``<bucket_name>_claims`` (`taskiq_nats.claims`)."""
        return self._claims

    def event_feed(self) -> EventFeed:
        """Events on the subject ``taskiq.events.<bucket_name>`` (`taskiq_nats.events`)."""
        return NATSEventFeed(lambda: self.client, events_subject(self.bucket_name))

    async def startup(self) -> None:
        """Connect and open (or create) the bucket."""
        self.client = await connection.connect(
            self.servers,
            self.connect_attempts,
            **self.connect_options,
        )
        with nats_errors(
            ResultBackendError,
            f"Cannot open or create the key-value bucket {self.bucket_name!r}; "
            "check that JetStream is enabled (-js)",
        ):
            self._kv = await connection.open_bucket(
                self.client,
                KeyValueConfig(
                    bucket=self.bucket_name,
                    ttl=self.result_ttl,
                    storage=StorageType.FILE,
                ),
            )

    async def shutdown(self) -> None:
        """Disconnect."""
        await connection.close(self.client)
        self._kv = None

    @property
    def kv(self) -> KeyValue:
        """The open bucket; a clear error if `startup` was not called."""
        if self._kv is None:
            raise ResultBackendError(NOT_STARTED)
        return self._kv

    async def set_result(self, task_id: str, result: TaskiqResult[_ReturnType]) -> None:
        """Store the result; waiters are woken by the same write."""
        payload = dump_model(self.serializer, result)
        with nats_errors(ResultSetError, task_id=task_id):
            await self.kv.put(result_key("result", task_id), payload)

    async def is_result_ready(self, task_id: str) -> bool:
        """Tell whether a result is stored (and not expired)."""
        with nats_errors(ResultIsReadyError, task_id=task_id):
            return await self._read(result_key("result", task_id)) is not None

    async def get_result(
        self,
        task_id: str,
        with_logs: bool = False,
    ) -> TaskiqResult[_ReturnType]:
        """The stored result; `NoResultError` if none, `ResultGetError` if unreadable."""
        key = result_key("result", task_id)
        with nats_errors(ResultGetError, task_id=task_id):
            raw = await self._read(key)
        if raw is None:
            raise NoResultError(task_id=task_id)
        result: TaskiqResult[_ReturnType] = self._decode(task_id, raw, TaskiqResult)
        if not with_logs:
            result.log = None
        if not self.keep_results:
            with nats_errors(ResultGetError, task_id=task_id):
                await self.kv.delete(key)
        return result

    async def delete_result(self, task_id: str) -> None:
        """Forget the result, progress and state of ``task_id`` (a missing one is no error)."""
        with nats_errors(ResultSetError, task_id=task_id):
            for kind in ("result", "progress", "state"):
                await self.kv.delete(result_key(kind, task_id))

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        """Store the latest progress report of a running task."""
        payload = dump_model(self.serializer, progress)
        with nats_errors(ResultSetError, task_id=task_id):
            await self.kv.put(result_key("progress", task_id), payload)

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        """The latest progress report, or None."""
        with nats_errors(ResultGetError, task_id=task_id):
            raw = await self._read(result_key("progress", task_id))
        if raw is None:
            return None
        progress: TaskProgress[Any] = self._decode(task_id, raw, TaskProgress)
        return progress

    async def record_task_state(self, task_id: str, transition: TaskTransition) -> None:
        """Append ``transition`` to the task's timeline (compare-and-set, retried on a race)."""
        key = result_key("state", task_id)
        step = transition.to_json()
        with nats_errors(ResultSetError, task_id=task_id):
            for _ in range(STATE_APPEND_ATTEMPTS):
                if await self._try_append(key, step):
                    return
        raise ResultSetError(
            task_id=task_id,
            reason=f"the state key kept changing during {STATE_APPEND_ATTEMPTS} attempts",
        )

    async def _try_append(self, key: str, step: dict[str, Any]) -> bool:
        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            entry = None
        try:
            if entry is None or entry.value is None:
                await self.kv.create(key, json.dumps([step]).encode())
            else:
                steps = [*json.loads(entry.value), step]
                await self.kv.update(key, json.dumps(steps).encode(), last=entry.revision)
        except KeyWrongLastSequenceError:
            return False
        return True

    async def get_task_state(self, task_id: str) -> TaskStateRecord | None:
        """The task's state and timeline; None for an id the bucket holds no state of."""
        with nats_errors(ResultGetError, task_id=task_id):
            raw = await self._read(result_key("state", task_id))
        if raw is None:
            return None
        try:
            steps = [TaskTransition.from_json(step) for step in json.loads(raw)]
        except (ValueError, KeyError, TypeError) as exc:
            raise ResultGetError(
                task_id=task_id,
                reason=f"the stored state is not a task-state timeline ({exc})",
            ) from exc
        return TaskStateRecord.of(task_id, steps)

    async def wait_for_ready(self, task_id: str, check_interval: float) -> None:
        """Return as soon as the result is stored: a KV watch pushes the write to us."""
        key = result_key("result", task_id)
        with nats_errors(ResultIsReadyError, task_id=task_id):
            watcher = await self.kv.watch(key)
        try:
            while not await self._next_is_value(watcher, task_id):
                continue
        finally:
            await _stop_quietly(watcher)

    async def _next_is_value(self, watcher: Any, task_id: str) -> bool:
        """Wait for the next watch update; on a quiet spell, check the key directly."""
        try:
            entry = await watcher.updates(timeout=WATCH_RECHECK_INTERVAL)
        except nats.errors.TimeoutError:
            return await self.is_result_ready(task_id)
        return entry is not None and entry.value is not None and entry.operation not in _DELETED

    async def _read(self, key: str) -> bytes | None:
        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return entry.value

    def _decode(self, task_id: str, raw: bytes, model: Any) -> Any:
        try:
            return load_model(self.serializer, model, raw)
        except (ValueError, TypeError, ValidationError) as exc:
            raise ResultGetError(
                task_id=task_id,
                reason=f"the stored value is not a valid {model.__name__} ({exc})",
            ) from exc


async def _stop_quietly(watcher: Any) -> None:
    try:
        await watcher.stop()
    except NATS_FAILURES:
        return


#: Taskiq's documented name. This backend stores results in a key-value bucket
#: (not an object store); the constructor takes the same arguments.
NATSObjectStoreResultBackend = NATSKeyValueResultBackend

"""Task results in Redis, expiring by default, with readiness pushed to waiters.

A result is one key (``<prefix_str>:<task_id>``, see `taskiq_redis.keys`) holding
the serialized `TaskiqResult`; storing it also publishes the task id so that
waiting clients return at once (see `taskiq_redis.readiness`). Results expire
after `DEFAULT_RESULT_EX_TIME` seconds (one day) unless ``result_ex_time`` or
``result_px_time`` says otherwise. ``keep_results=False`` deletes a result when
it is first read.

Task states (`taskiq.control.task_states`) are a list of JSON transitions under
``<...>:state`` expiring like results. A transition is not sent on its own: it
joins the pipeline of the results stored in the same event-loop turn (or makes
one at the end of the turn), so a worker's "started" and "succeeded" cost no
round trip of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.abc.serializer import TaskiqSerializer
from taskiq.control.claims import ClaimStore
from taskiq.control.events import EventFeed
from taskiq.control.pacing import PaceStore
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

from taskiq_redis.claims import RedisClaimStore
from taskiq_redis.coalesce import TurnBatcher
from taskiq_redis.connection import UsesConnector, read_script
from taskiq_redis.errors import translated
from taskiq_redis.events import RedisEventFeed
from taskiq_redis.exceptions import (
    DuplicateExpireTimeSelectedError,
    ExpireTimeMustBeMoreThanZeroError,
)
from taskiq_redis.keys import (
    events_channel,
    progress_key,
    result_key,
    results_channel,
    state_key,
)
from taskiq_redis.pacing import RedisPaceStore
from taskiq_redis.readiness import ReadinessListener
from taskiq_redis.workers import RedisWorkerRegistry

_ReturnType = TypeVar("_ReturnType")
logger = logging.getLogger("taskiq_redis.result_backend")
#: One write of a turn's pipeline: (key, payload, task id of a result; None: a state).
_Write = tuple[str, bytes, "str | None"]
#: The transitions written for every task: sent without waiting (`record_task_state`).
_PER_TASK = frozenset(
    {TaskStatus.QUEUED, TaskStatus.STARTED, TaskStatus.SUCCEEDED, TaskStatus.FAILED},
)
#: Seconds a "started" waits for its task's result to travel with it (then goes alone).
STARTED_HOLD = 0.05

#: Seconds a result is kept when no expiry is configured: one day.
DEFAULT_RESULT_EX_TIME = 24 * 60 * 60


def expiry(ex_time: int | None, px_time: int | None) -> tuple[int | None, int | None]:
    """The ``ex``/``px`` arguments for SET; one day when neither is given."""
    if ex_time is not None and px_time is not None:
        raise DuplicateExpireTimeSelectedError
    chosen = ex_time if ex_time is not None else px_time
    if chosen is not None and chosen <= 0:
        raise ExpireTimeMustBeMoreThanZeroError
    if px_time is not None:
        return None, px_time
    return (ex_time if ex_time is not None else DEFAULT_RESULT_EX_TIME), None


class RedisAsyncResultBackend(UsesConnector, AsyncResultBackend[_ReturnType]):
    """Results and progress in Redis; ``wait_result()`` returns as soon as one is stored."""

    def __init__(
        self,
        redis_url: str,
        keep_results: bool = True,
        result_ex_time: int | None = None,
        result_px_time: int | None = None,
        max_connection_pool_size: int | None = None,
        serializer: TaskiqSerializer | None = None,
        prefix_str: str | None = None,
        **connection_kwargs: Any,
    ) -> None:
        self.connector = self._connect(redis_url, max_connection_pool_size, connection_kwargs)
        self.keep_results = keep_results
        self.result_ex_time, self.result_px_time = expiry(result_ex_time, result_px_time)
        self.serializer = serializer or JSONSerializer()
        self.prefix_str = prefix_str
        self.readiness = ReadinessListener(self.connector.client, results_channel(prefix_str))
        self._stores: TurnBatcher[_Write] = TurnBatcher(self._store_many)
        self._result_script: Any = None
        self._held = HeldStarts(self._release)

    def worker_registry(self) -> WorkerRegistry:
        """Worker heartbeats on this backend's Redis (`taskiq_redis.workers`)."""
        return RedisWorkerRegistry(lambda: self.redis, self.prefix_str)

    def claim_store(self) -> ClaimStore:
        """Claims on this backend's Redis (`taskiq_redis.claims`)."""
        return RedisClaimStore(lambda: self.redis, self.prefix_str)

    def pace_store(self) -> PaceStore:
        """Rate-limit turns on this backend's Redis (`taskiq_redis.pacing`)."""
        return RedisPaceStore(lambda: self.redis, self.prefix_str)

    def event_feed(self) -> EventFeed:
        """The events feed on this backend's Redis pub/sub (`taskiq_redis.events`)."""
        return RedisEventFeed(lambda: self.redis, events_channel(self.prefix_str))

    async def startup(self) -> None:
        """Check that Redis answers; raise `BrokerConnectionError` naming it otherwise."""
        await self.connector.check()

    async def shutdown(self) -> None:
        """Send pending task states, stop the notification subscription, close connections."""
        self._held.release_all()
        await self._stores.flush()
        await self.readiness.close()
        await self.connector.close()

    async def set_result(self, task_id: str, result: TaskiqResult[_ReturnType]) -> None:
        """Store the result with its expiry, then announce it to waiters.

        On a plain or Sentinel client, SET and PUBLISH go in one pipeline together
        with those of every other result stored in the same event-loop turn
        (`taskiq_redis.coalesce`): one round trip for a batch of finishing tasks, see
        benchmarks/README.md. A cluster client sends them one after the other, as a
        keyless PUBLISH has no slot to pipeline to.
        """
        payload = self._encode(task_id, result)
        key = result_key(self.prefix_str, task_id)
        client: Any = self.redis
        with translated(ResultSetError, self.connector.address, task_id=task_id):
            if not isinstance(client, Redis):
                await self._set(key, payload)
                await client.publish(self.readiness.channel, task_id)
                return
            self._held.join(state_key(self.prefix_str, task_id))
            await self._stores.submit((key, payload, task_id))

    async def _store_many(self, stores: list[_Write]) -> None:
        """Every result and state of one turn, in one pipeline.

        A result whose task also has states in this turn goes with them in one
        ``result_store.lua`` call; other results are SET then PUBLISH, other states
        RPUSH then EXPIRE.
        """
        states: dict[str, list[bytes]] = {}
        for key, payload, task_id in stores:
            if task_id is None:
                states.setdefault(key, []).append(payload)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, payload, task_id in stores:
                if task_id is None:
                    continue
                steps = states.pop(state_key(self.prefix_str, task_id), None)
                if steps:
                    self._store_with_states(pipe, key, payload, task_id, steps)
                    continue
                pipe.set(key, payload, ex=self.result_ex_time, px=self.result_px_time)
                pipe.publish(self.readiness.channel, task_id)
            for key, payloads in states.items():
                self._append_states(pipe, key, payloads)
            await pipe.execute()

    def _store_with_states(
        self,
        pipe: Any,
        key: str,
        payload: bytes,
        task_id: str,
        steps: list[bytes],
    ) -> None:
        if self._result_script is None:
            self._result_script = self.redis.register_script(read_script("result_store.lua"))
        unit, ttl = (
            ("PX", self.result_px_time) if self.result_px_time else ("EX", self.result_ex_time)
        )
        script = self._result_script
        pipe.scripts.add(script)  # the pipeline loads it first if the server lacks it
        keys = [key, state_key(self.prefix_str, task_id)]
        args = [payload, unit, ttl, self.readiness.channel, task_id, *steps]
        pipe.evalsha(script.sha, len(keys), *keys, *args)

    def _append_states(self, pipe: Any, key: str, payloads: list[bytes]) -> None:
        pipe.rpush(key, *payloads)
        if self.result_px_time is not None:
            pipe.pexpire(key, self.result_px_time)
        else:
            pipe.expire(key, self.result_ex_time)

    async def record_task_state(self, task_id: str, transition: TaskTransition) -> None:
        """Append ``transition`` to the timeline; sent with this turn's results.

        What is written for every task (queued at kiq, started, succeeded, failed)
        returns at once: it joins the pipeline of this turn's results (a start waits
        up to `STARTED_HOLD` s for its result), a failed write is logged (a state is
        for watchers and must not fail the task), and `get_task_state`,
        `delete_result` and `shutdown` send what is pending first. Retrying and
        dead-lettered wait until they are stored.
        """
        key = state_key(self.prefix_str, task_id)
        payload = transition.to_json_bytes()
        client: Any = self.redis
        if not isinstance(client, Redis):  # a cluster: no keyless pipeline to join
            with translated(ResultSetError, self.connector.address, task_id=task_id):
                await client.rpush(key, payload)
                await (
                    client.pexpire(key, self.result_px_time)
                    if self.result_px_time is not None
                    else client.expire(key, self.result_ex_time)
                )
            return
        if transition.status is TaskStatus.STARTED:
            self._held.hold(key, payload)
            return
        if transition.status in _PER_TASK:
            self._stores.post((key, payload, None)).add_done_callback(_log_failed_state)
            return
        with translated(ResultSetError, self.connector.address, task_id=task_id):
            await self._stores.submit((key, payload, None))

    def _release(self, key: str, payloads: list[bytes]) -> None:
        for payload in payloads:
            self._stores.post((key, payload, None)).add_done_callback(_log_failed_state)

    async def get_task_state(self, task_id: str) -> TaskStateRecord | None:
        """The task's state and timeline; None for an id Redis holds no state of."""
        self._held.release_all()
        await self._stores.flush()
        with translated(ResultGetError, self.connector.address, task_id=task_id):
            raw = await self.redis.lrange(state_key(self.prefix_str, task_id), 0, -1)
        if not raw:
            return None
        return TaskStateRecord.from_json_entries(task_id, raw)

    async def is_result_ready(self, task_id: str) -> bool:
        """Tell whether a result is stored for ``task_id``."""
        with translated(ResultIsReadyError, self.connector.address, task_id=task_id):
            return bool(await self.redis.exists(result_key(self.prefix_str, task_id)))

    async def wait_for_ready(self, task_id: str, check_interval: float) -> None:
        """Return as soon as the result is stored (pushed; ``check_interval`` is a fallback)."""
        await self.readiness.wait(task_id, lambda: self.is_result_ready(task_id), check_interval)

    async def get_result(
        self,
        task_id: str,
        with_logs: bool = False,
    ) -> TaskiqResult[_ReturnType]:
        """Read the result (and delete it when ``keep_results`` is False)."""
        key = result_key(self.prefix_str, task_id)
        with translated(ResultGetError, self.connector.address, task_id=task_id):
            raw = await (self.redis.get(key) if self.keep_results else self.redis.getdel(key))
        if raw is None:
            raise NoResultError(task_id=task_id)
        result: TaskiqResult[_ReturnType] = self._decode(task_id, raw, TaskiqResult)
        if not with_logs:
            result.log = None
        return result

    async def delete_result(self, task_id: str) -> None:
        """Forget the result and progress of ``task_id`` (a missing one is no error).

        Single-key deletes rather than one: in a cluster the keys may live in
        different slots.
        """
        self._held.release_all()
        await self._stores.flush()  # a pending state must not land after the delete
        with translated(ResultSetError, self.connector.address, task_id=task_id):
            await self.redis.delete(result_key(self.prefix_str, task_id))
            await self.redis.delete(progress_key(self.prefix_str, task_id))
            await self.redis.delete(state_key(self.prefix_str, task_id))

    async def set_progress(self, task_id: str, progress: TaskProgress[Any]) -> None:
        """Store the task's latest progress, expiring like results."""
        payload = self._encode(task_id, progress)
        with translated(ResultSetError, self.connector.address, task_id=task_id):
            await self._set(progress_key(self.prefix_str, task_id), payload)

    async def get_progress(self, task_id: str) -> TaskProgress[Any] | None:
        """The latest progress, or None if the task reported none."""
        with translated(ResultGetError, self.connector.address, task_id=task_id):
            raw = await self.redis.get(progress_key(self.prefix_str, task_id))
        if raw is None:
            return None
        progress: TaskProgress[Any] = self._decode(task_id, raw, TaskProgress)
        return progress

    async def _set(self, key: str, payload: bytes) -> None:
        await self.redis.set(key, payload, ex=self.result_ex_time, px=self.result_px_time)

    def _encode(self, task_id: str, model: BaseModel) -> bytes:
        """Serialize a result or progress; Pickle gets Python objects, the others JSON types."""
        return encode_stored(self.serializer, task_id, model)

    def _decode(self, task_id: str, raw: Any, model: Any) -> Any:
        return decode_stored(self.serializer, task_id, raw, model)


def _log_failed_state(outcome: asyncio.Future[None]) -> None:
    if outcome.cancelled():
        return
    error = outcome.exception()
    if error is not None:
        logger.warning("Could not record a task state in Redis: %s", error)


class HeldStarts:
    """ "started" transitions held back for up to `STARTED_HOLD` s, per state key.

    A fast task's result follows its start within the hold, so `join` puts the start
    into the same pipeline (one ``result_store.lua`` call) instead of one of its own;
    a slow task's start is released by the timer.
    """

    def __init__(self, release: Callable[[str, list[bytes]], None]) -> None:
        self._release = release
        self._held: dict[str, list[bytes]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def hold(self, key: str, payload: bytes) -> None:
        """Hold ``payload`` for ``key``; start the timer if none runs."""
        self._held.setdefault(key, []).append(payload)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(STARTED_HOLD, self.release_all)

    def join(self, key: str) -> None:
        """Release what is held for ``key`` now (its result is being stored)."""
        payloads = self._held.pop(key, None)
        if payloads:
            self._release(key, payloads)

    def release_all(self) -> None:
        """Release everything held."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        held, self._held = self._held, {}
        for key, payloads in held.items():
            self._release(key, payloads)

"""Acknowledged, at-least-once delivery over Redis Streams and consumer groups.

Design (see docs/brokers/redis.md for the long form):

- ``kick`` XADDs the payload to the queue's stream (one stream per priority
  level), or parks it in a sorted set when it carries a ``delay`` label; any
  worker moves due entries onto the stream with one atomic Lua script.
- A worker reads with XREADGROUP only when the receiver asks for the next
  message, and then as many entries as the receiver has room for (at most
  ``xread_count``), so prefetch stays within the receiver's bounds while a busy
  worker still fetches, runs and settles its tasks in batches.
- Every entry a worker holds is leased (see `taskiq_redis.leases`): touched every
  ``idle_timeout / 4`` until settled, from a helper thread while a task blocks
  the event loop (`taskiq_redis.lease_thread`). Entries of a dead worker go idle, and a live
  worker takes them over with XAUTOCLAIM after ``idle_timeout``.
- ack = XACK + XDEL (nothing acknowledged stays in Redis), one script call for
  all the acks of one event-loop turn (`taskiq_redis.coalesce`); reject, malformed
  entries and entries delivered more than ``max_deliveries`` times go to the
  dead-letter stream (`dead_letter_store`, the core `DeadLetterStore` contract).
- On shutdown, entries fetched but never settled go straight back to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from functools import partial
from typing import Any

from redis.exceptions import ResponseError
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.control import failed_times, log_dead_lettered, malformed
from taskiq.exceptions import BrokerUnreachableError, ListenError, SendTaskError
from taskiq.fetch_budget import UNBOUNDED, FetchBudget
from taskiq.message import BrokerMessage
from taskiq.receiver.keepalive import BlockedLoopKeepAlive

from taskiq_redis.base_broker import Backoff, BaseRedisBroker
from taskiq_redis.coalesce import TurnBatcher
from taskiq_redis.dead_letters import DeadLetter, RedisDeadLetterStore
from taskiq_redis.errors import TRANSIENT_ERRORS, translated
from taskiq_redis.keys import DATA_FIELD, TASK_ID_FIELD, TASK_NAME_FIELD, StreamQueueKeys
from taskiq_redis.labels import delay_seconds, priority_level
from taskiq_redis.lease_thread import start_lease_thread
from taskiq_redis.leases import Delivery, LeaseKeeper
from taskiq_redis.queues import RedisQueueInspector
from taskiq_redis.stream_scripts import StreamScripts

logger = logging.getLogger("taskiq_redis.stream_broker")

#: An entry idle this long (ms) belongs to a dead worker and is redelivered.
DEFAULT_IDLE_TIMEOUT_MS = 20_000
#: Deliveries before an entry is dead-lettered instead of delivered again.
DEFAULT_MAX_DELIVERIES = 5
#: Dead letters kept (approximately) before the oldest are trimmed.
DEFAULT_DEAD_LETTER_MAXLEN = 100_000
#: Consumers with nothing pending are forgotten after this long unseen (ms).
CONSUMER_FORGET_AFTER_MS = 300_000
#: Most entries one read takes (the receiver's free room bounds it further).
DEFAULT_XREAD_COUNT = 100
#: Longest pause between two runs of the delayed-entry mover (s).
MAX_DELAY_POLL = 1.0

#: Failures a hand-back logs and survives: the entries are then redelivered after idle_timeout.
_HAND_BACK_ERRORS: tuple[type[Exception], ...] = (*TRANSIENT_ERRORS, ResponseError)


def _field(fields: dict[bytes, bytes], name: bytes) -> str | None:
    value = fields.get(name)
    return None if value is None else value.decode(errors="replace")


def default_consumer_name() -> str:
    """``host-pid-random``: unique per process, readable in XINFO CONSUMERS."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


#: Keywords of Taskiq's RedisStreamBroker accepted and ignored: redelivery here is
#: driven by leases the worker extends (see docs/brokers/redis.md), not by XCLAIM scans.
UPSTREAM_ONLY_OPTIONS = ("unacknowledged_lock_timeout", "reclaim_interval", "reclaim_timeout_grace")


class RedisStreamBroker(BaseRedisBroker):
    """At-least-once broker on Redis Streams with leases, redelivery and dead letters.

    ``idle_timeout`` (ms) bounds how long a dead worker's tasks wait before a live
    worker gets them; a live worker's tasks are never redelivered however long
    they run. A read takes as many entries as the worker's receiver has room for
    (``--max-async-tasks`` plus ``--max-prefetch``), at most ``xread_count``; nothing
    waits on a busy worker beyond those bounds. ``max_priority`` enables ``priority``
    labels 0..max_priority, higher first. ``consumer_id`` is where a new consumer
    group starts: ``"0"`` (the default) so that tasks sent before the first worker
    started are not lost.
    """

    supports_delayed_delivery = True

    def __init__(
        self,
        url: str,
        queue_name: str = "taskiq",
        max_connection_pool_size: int | None = None,
        consumer_group_name: str = "taskiq",
        consumer_name: str | None = None,
        consumer_id: str = "0",
        mkstream: bool = True,
        xread_block: int = 2000,
        maxlen: int | None = None,
        approximate: bool = True,
        idle_timeout: int = DEFAULT_IDLE_TIMEOUT_MS,
        unacknowledged_batch_size: int = 100,
        xread_count: int = DEFAULT_XREAD_COUNT,
        additional_streams: dict[str, str | int] | None = None,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        max_priority: int | None = None,
        dead_letter_maxlen: int = DEFAULT_DEAD_LETTER_MAXLEN,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        **connection_kwargs: Any,
    ) -> None:
        for name in UPSTREAM_ONLY_OPTIONS:  # Taskiq's reclaim knobs; leases replace them here
            connection_kwargs.pop(name, None)
        connection_kwargs.setdefault("socket_timeout", xread_block / 1000 + 10)
        super().__init__(
            url,
            task_id_generator=task_id_generator,
            result_backend=result_backend,
            queue_name=queue_name,
            max_connection_pool_size=max_connection_pool_size,
            **connection_kwargs,
        )
        self.keys = StreamQueueKeys(queue_name, max_priority)
        #: The budget of the stream `listen_with_budget` serves now (`taskiq.fetch_budget`).
        self._budget = UNBOUNDED
        self.consumer_group_name = consumer_group_name
        self.consumer_name = consumer_name or default_consumer_name()
        self.consumer_id = consumer_id
        self.mkstream = mkstream
        self.block = xread_block
        self.maxlen = maxlen
        self.approximate = approximate
        self.idle_timeout = idle_timeout
        self.unacknowledged_batch_size = unacknowledged_batch_size
        self.count = max(1, xread_count)
        self.additional_streams = {
            name: str(start) for name, start in (additional_streams or {}).items()
        }
        self.streams = [*self.keys.streams_by_urgency(), *self.additional_streams]
        self.max_deliveries = max_deliveries
        self.dead_letter_maxlen = dead_letter_maxlen
        self._scripts: StreamScripts | None = None
        self._leases: LeaseKeeper | None = None
        self._background: list[asyncio.Task[None]] = []
        self._lease_thread: BlockedLoopKeepAlive | None = None
        self._stopping = asyncio.Event()
        self._claim_cursors: dict[str, str] = {}
        self._next_claim = 0.0
        self._next_prune = 0.0
        self._acks: TurnBatcher[Delivery] = TurnBatcher(self._send_acks)

    @property
    def scripts(self) -> StreamScripts:
        """The queue's Lua scripts, registered on first use."""
        if self._scripts is None:
            self._scripts = StreamScripts(self.redis)
        return self._scripts

    @property
    def leases(self) -> LeaseKeeper:
        """This consumer's unsettled deliveries."""
        if self._leases is None:
            self._leases = LeaseKeeper(self.scripts, self.consumer_group_name, self.consumer_name)
        return self._leases

    # -- lifecycle -------------------------------------------------------

    async def _prepare(self) -> None:
        """Create the consumer groups (`startup` calls it once Redis answers)."""
        with translated(BrokerUnreachableError, self.connector.address, service="Redis"):
            await self._declare_groups()

    async def _declare_groups(self) -> None:
        for stream in self.streams:
            start = self.additional_streams.get(stream, self.consumer_id)
            try:
                await self.redis.xgroup_create(
                    stream,
                    self.consumer_group_name,
                    id=self.consumer_id if start == ">" else start,
                    mkstream=self.mkstream,
                )
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    logger.warning("Cannot create group on %s: %s", stream, exc)

    async def shutdown(self) -> None:
        """Stop leasing, give every unsettled delivery back to the queue, close connections.

        Call it after the receiver has finished its running tasks: whatever is still
        unsettled then was fetched but never finished, and goes back at once instead
        of after ``idle_timeout``.
        """
        self._stopping.set()
        if self._lease_thread is not None:
            self._lease_thread.stop()
            self._lease_thread = None
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        if self._leases is not None:
            await self._give_back(list(self._leases.held.values()))
            await self._leave_group()
        await super().shutdown()
        self._scripts = None
        self._leases = None
        self._stopping = asyncio.Event()

    async def _leave_group(self) -> None:
        """Return entries a cancelled read delivered but never reported, then leave the group.

        A read cancelled at the wrong moment can leave entries pending for this consumer
        that it never saw; they go back too. A consumer holding nothing is deleted so
        that the group does not collect one consumer per process ever started.
        """
        for stream in self.streams:
            try:
                await self._leave_stream(stream)
            except _HAND_BACK_ERRORS as exc:
                logger.warning("Could not leave the group of %s cleanly: %s", stream, exc)

    async def _leave_stream(self, stream: str) -> None:
        group, consumer = self.consumer_group_name, self.consumer_name
        pending: Any = await self.redis.xpending_range(
            stream, group, min="-", max="+", count=10_000, consumername=consumer
        )
        ids = [_text(entry["message_id"]) for entry in pending]
        if ids:
            moved = await self.scripts.requeue(stream, group, consumer, ids)
            logger.info("Returned %d unreported entries to %s.", moved, stream)
        if len(ids) < 10_000:  # all returned: deleting the consumer drops nothing
            await self.redis.xgroup_delconsumer(stream, group, consumer)

    async def _give_back(self, deliveries: Iterable[Delivery]) -> None:
        by_stream: dict[str, list[str]] = {}
        for delivery in deliveries:
            self.leases.release(delivery)
            by_stream.setdefault(delivery.stream, []).append(delivery.entry_id)
        for stream, ids in by_stream.items():
            try:
                moved = await self.scripts.requeue(
                    stream, self.consumer_group_name, self.consumer_name, ids
                )
            except _HAND_BACK_ERRORS as exc:
                logger.warning("Could not return %d entries to %s: %s", len(ids), stream, exc)
                continue
            logger.info("Returned %d unstarted entries to %s.", moved, stream)

    # -- sending ---------------------------------------------------------

    async def kick(self, message: BrokerMessage) -> None:
        """Append the message to its priority stream, or park it for its ``delay``."""
        keys = self._keys_for(message)
        level = min(max(priority_level(message.labels), 0), keys.max_priority)
        delay = delay_seconds(message.labels)
        with translated(SendTaskError, self.connector.address):
            if delay > 0:
                await self.scripts.delay(keys.delayed, int(delay * 1000), _member(level, message))
                return
            await self.redis.xadd(
                keys.stream(level),
                {
                    DATA_FIELD: message.message,
                    TASK_ID_FIELD: message.task_id,
                    TASK_NAME_FIELD: message.task_name,
                },
                maxlen=self.maxlen,
                approximate=self.approximate,
            )

    def _keys_for(self, message: BrokerMessage) -> StreamQueueKeys:
        queue = message.labels.get("queue_name")
        if not queue or queue == self.queue_name:
            return self.keys
        return StreamQueueKeys(str(queue), self.keys.max_priority)

    # -- receiving -------------------------------------------------------

    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield deliveries one by one, fetching more only when asked for the next."""
        return self.listen_with_budget(UNBOUNDED)

    async def listen_with_budget(
        self,
        budget: FetchBudget,
    ) -> AsyncGenerator[bytes | AckableMessage, None]:
        """As `listen`, reading at most ``budget.room()`` entries per ``XREADGROUP``."""
        self._budget = budget
        self._start_background()
        buffer: deque[Delivery] = deque()
        try:
            while True:
                if not buffer:
                    buffer.extend(await self._fetch_with_reconnect())
                    continue
                message = await self._to_message(buffer.popleft())
                if message is not None:
                    yield message
        finally:
            if buffer:
                await self._give_back(buffer)

    def _start_background(self) -> None:
        if self._background:
            return
        interval = self.idle_timeout / 4000
        self._lease_thread = start_lease_thread(self.connector, self.leases, interval)
        self._background = [
            asyncio.create_task(self.leases.run(interval, self._stopping)),
            asyncio.create_task(self._move_delayed_forever()),
        ]

    async def _fetch_with_reconnect(self) -> list[Delivery]:
        backoff = Backoff()
        outage = self.reconnect_backoff()
        while True:
            try:
                fetched = await self._fetch()
            except TRANSIENT_ERRORS as exc:
                await outage.wait(exc)
                continue
            except ResponseError as exc:
                if not _lost_group(exc):
                    raise ListenError(reason=self.connector.address.reason(exc)) from exc
                logger.warning(
                    "The stream or its consumer group vanished (deleted, or Redis lost its "
                    "data?); recreating them."
                )
                with contextlib.suppress(*TRANSIENT_ERRORS):
                    await self._declare_groups()
                await backoff.wait()
                continue
            outage.succeeded()
            return fetched

    async def _fetch(self) -> list[Delivery]:
        loop = asyncio.get_running_loop()
        if loop.time() >= self._next_claim:
            claimed = await self._claim_idle()
            if claimed:
                return claimed
            self._next_claim = loop.time() + self.idle_timeout / 4000
        if loop.time() >= self._next_prune:
            await self._prune_consumers()
            self._next_prune = loop.time() + CONSUMER_FORGET_AFTER_MS / 10_000
        return await self._read_new()

    async def _prune_consumers(self) -> None:
        forget_after = max(CONSUMER_FORGET_AFTER_MS, 3 * self.idle_timeout)
        for stream in self.streams:
            deleted = await self.scripts.prune(
                stream, self.consumer_group_name, forget_after, self.consumer_name
            )
            if deleted:
                logger.info("Forgot %d departed consumers of %s.", deleted, stream)

    async def _read_new(self) -> list[Delivery]:
        """New entries: the most urgent non-empty stream first, else block on all of them."""
        streams = self.streams
        if len(streams) > 1:
            first = await self.scripts.read_first(
                streams, self.consumer_group_name, self.consumer_name, self._read_count()
            )
            if first is not None:
                stream, entries = first
                return [self._hold(stream, entry_id, fields) for entry_id, fields in entries]
        reply: Any = await self.redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            dict.fromkeys(streams, ">"),
            count=self._read_count(),
            block=self.block,
        )
        by_stream = {_text(name): entries for name, entries in reply or []}
        fetched: list[Delivery] = []
        for stream in streams:
            for entry_id, fields in by_stream.get(stream, []):
                fetched.append(self._hold(stream, entry_id, fields or {}))
        return fetched

    def _read_count(self) -> int:
        """Entries to read now: what the receiver's budget allows, at most ``xread_count``."""
        return self._budget.capped(self.count)

    def _hold(self, stream: str, entry_id: Any, fields: dict[bytes, bytes]) -> Delivery:
        delivery = Delivery(stream, _text(entry_id), fields)
        self.leases.hold(delivery)
        return delivery

    async def _claim_idle(self) -> list[Delivery]:
        """Take over entries idle for ``idle_timeout`` (their worker died); most urgent first."""
        for stream in self.streams:
            claimed = await self._claim_from(stream)
            if claimed:
                return claimed
        return []

    async def _claim_from(self, stream: str) -> list[Delivery]:
        cursor, entries = await self.scripts.claim(
            stream,
            self.consumer_group_name,
            self.consumer_name,
            self.idle_timeout,
            self._claim_cursors.get(stream, "0-0"),
            min(self._read_count(), self.unacknowledged_batch_size),
        )
        self._claim_cursors[stream] = cursor
        fetched: list[Delivery] = []
        for entry_id, fields, times in entries:
            delivery = self._hold(stream, entry_id, fields)
            if times > self.max_deliveries:
                reason = failed_times(times - 1)
                await self._settle(delivery, partial(self._dead_letter, delivery, reason))
                continue
            logger.info("Redelivering %s from %s (delivery %d).", entry_id, stream, times)
            fetched.append(delivery)
        return fetched

    async def _to_message(self, delivery: Delivery) -> AckableMessage | None:
        data = delivery.fields.get(DATA_FIELD)
        if data is None:
            reason = malformed(f"stream entry has no {DATA_FIELD.decode()!r} field")
            await self._settle(delivery, partial(self._dead_letter, delivery, reason))
            return None
        return AckableMessage(
            data=data,
            ack=partial(self._settle, delivery, partial(self._ack, delivery)),
            reject=partial(self._settle, delivery, partial(self._reject, delivery)),
            nack=partial(self._settle, delivery, partial(self._requeue, delivery)),
            dead_letter=partial(self._dead_letter_settled, delivery),
        )

    # -- settling --------------------------------------------------------

    async def _settle(
        self,
        delivery: Delivery,
        action: Callable[[], Awaitable[None]],
    ) -> None:
        """Run ``action`` until it succeeds, keeping the lease meanwhile.

        Gives up after ``idle_timeout`` (the entry is then redelivered: at least once).
        """
        delivery.settling = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(self.idle_timeout / 1000, 5.0)
        backoff = Backoff()
        try:
            while True:
                try:
                    await action()
                    return
                except TRANSIENT_ERRORS as exc:
                    if loop.time() >= deadline:
                        logger.error(
                            "Could not settle %s (%s); it will be redelivered.",
                            delivery.entry_id,
                            exc,
                        )
                        return
                except ResponseError as exc:  # retrying cannot help; never crash the worker
                    logger.error(
                        "Redis refused to settle %s on %s (%s); it stays pending and will be "
                        "redelivered, then dead-lettered after max_deliveries.",
                        delivery.entry_id,
                        delivery.stream,
                        exc,
                    )
                    return
                await backoff.wait()
        finally:
            self.leases.release(delivery)

    async def _ack(self, delivery: Delivery) -> None:
        await self._acks.submit(delivery)

    async def _send_acks(self, deliveries: list[Delivery]) -> None:
        """Ack the deliveries of one turn: one script call per stream (usually one)."""
        by_stream: dict[str, list[str]] = {}
        for delivery in deliveries:
            by_stream.setdefault(delivery.stream, []).append(delivery.entry_id)
        for stream, ids in by_stream.items():
            await self.scripts.ack(stream, self.consumer_group_name, ids)

    async def _requeue(self, delivery: Delivery) -> None:
        """Put a delivery the receiver gave back at the end of its stream, now.

        Like the hand-back at shutdown, this does not count against ``max_deliveries``.
        """
        await self.scripts.requeue(
            delivery.stream, self.consumer_group_name, self.consumer_name, [delivery.entry_id]
        )

    async def _reject(self, delivery: Delivery) -> None:
        await self._dead_letter(delivery, "rejected")

    async def _dead_letter_settled(self, delivery: Delivery, reason: str) -> None:
        await self._settle(delivery, partial(self._dead_letter, delivery, reason))

    async def _dead_letter(self, delivery: Delivery, reason: str) -> None:
        await self.scripts.dead_letter(
            delivery.stream,
            self.keys.dead,
            self.consumer_group_name,
            delivery.entry_id,
            reason,
            self.dead_letter_maxlen,
        )
        self.leases.release(delivery)
        own = delivery.stream in self.keys.streams_by_level()
        log_dead_lettered(
            queue=self.keys.queue_name if own else delivery.stream,
            task_id=_field(delivery.fields, TASK_ID_FIELD),
            task_name=_field(delivery.fields, TASK_NAME_FIELD),
            reason=reason,
        )

    # -- delayed delivery ------------------------------------------------

    async def _move_delayed_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                wait_ms = await self.scripts.move_due(
                    self.keys.delayed,
                    self.keys.streams_by_level(),
                    self.unacknowledged_batch_size,
                )
            except TRANSIENT_ERRORS as exc:
                logger.debug("Delayed mover: Redis unreachable (%s).", exc)
                wait_ms = -1
            pause = MAX_DELAY_POLL if wait_ms < 0 else min(wait_ms / 1000, MAX_DELAY_POLL)
            await _sleep_unless(self._stopping, max(pause, 0.005))

    # -- dead letters ----------------------------------------------------

    def dead_letter_store(self, queue: str | None = None) -> RedisDeadLetterStore:
        """The dead letters of ``queue`` (default: this broker's) as the core contract.

        The methods below are the names this broker had before the contract; they
        delegate to it.
        """
        if queue is None or queue == self.keys.queue_name:
            keys, targets = self.keys, self.streams
        else:
            keys, targets = StreamQueueKeys(queue), None
        return RedisDeadLetterStore(self.redis, self.scripts, keys, self.connector.address, targets)

    async def dead_letters(self, count: int = 100) -> list[DeadLetter]:
        """The oldest ``count`` dead letters of this queue (alias of `dead_letter_store().list`)."""
        return list((await self.dead_letter_store().list(count)).letters)

    async def replay_dead_letter(self, dead_letter_id: str) -> bool:
        """Put one dead letter back on its stream (deliveries reset); False if absent."""
        return await self.dead_letter_store().replay([dead_letter_id]) == 1

    async def replay_dead_letters(self, count: int | None = None) -> int:
        """Replay the oldest ``count`` dead letters (all when None); return how many."""
        return await self.dead_letter_store().replay_oldest(count)

    async def delete_dead_letters(self, *dead_letter_ids: str) -> int:
        """Forget dead letters for good; return how many existed (alias of ``delete``)."""
        return await self.dead_letter_store().delete(dead_letter_ids)

    # -- inspection ------------------------------------------------------

    def queue_inspector(self) -> RedisQueueInspector:
        """The depth of this broker's queue (and of others by name), and purge."""
        return RedisQueueInspector(
            self.redis, self.consumer_group_name, self.keys, self.connector.address
        )

    def describe(self) -> dict[str, str]:
        """The server, the stream(s) read and the consumer group, for the worker's banner."""
        return {
            **super().describe(),
            "stream": ", ".join(self.keys.streams_by_urgency()),
            "consumer group": self.consumer_group_name,
        }


class RedisBroker(RedisStreamBroker):
    """The recommended Redis broker: `RedisStreamBroker` under the name the seed uses.

    Acknowledged and at-least-once: no task is lost when a worker dies, a live
    worker's tasks are never redelivered, failing deliveries end in a dead-letter
    stream you can list and replay.
    """


async def _sleep_unless(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``stopping`` is set, whichever comes first."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


#: Errors of a read whose stream or group no longer exists: recreate them and read on.
#: UNBLOCKED is what a blocked XREADGROUP gets when its stream is deleted under it.
_LOST_GROUP_ERRORS = ("NOGROUP", "UNBLOCKED")


def _lost_group(exc: ResponseError) -> bool:
    text = str(exc)  # inside a script's error too: "...: NOGROUP No such key ..."
    return any(code in text for code in _LOST_GROUP_ERRORS)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _member(level: int, message: BrokerMessage) -> bytes:
    """A delayed-set member; the format is parsed by delayed_move.lua."""
    head = f"{level}\n{uuid.uuid4().hex}\n{message.task_id}\n{message.task_name}\n"
    return head.encode() + message.message

"""The dead-letter stream: where deliveries that must not run again are kept.

A delivery lands here when the receiver dead-letters it (it cannot be decoded,
its task is unknown, the task called ``Context.reject()``) or when it was
delivered ``max_deliver`` times without being acknowledged. The copy keeps the
original payload and headers plus three headers of our own (reason, original
subject, delivery count), so a person can inspect it and replay it after a fix.

The stream is bounded, oldest discarded first: ``max_age`` seconds (7 days),
``max_msgs`` messages (100 000) and ``max_bytes`` bytes (1 GiB) by default; an
existing stream with other limits is updated to these at startup.
`NatsDeadLetterStore` is the core `DeadLetterStore` contract over it; a dead
letter's id is its stream sequence number.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import AsyncIterator, Callable, Collection

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RawStreamMsg, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from taskiq.control import DeadLetter, DeadLetterPage, DeadLetterStore
from taskiq.control.dead_letters import DEFAULT_PAGE_SIZE
from taskiq.exceptions import BrokerError

from taskiq_nats import headers as hdr
from taskiq_nats._errors import nats_errors

__all__ = [
    "DEFAULT_DEAD_LETTER_MAX_AGE",
    "DEFAULT_DEAD_LETTER_MAX_BYTES",
    "DEFAULT_DEAD_LETTER_MAX_MESSAGES",
    "DeadLetter",
    "DeadLetterLimits",
    "DeadLetterStream",
    "NatsDeadLetterStore",
]

#: Seconds a dead letter is kept before the stream discards it.
DEFAULT_DEAD_LETTER_MAX_AGE = 7 * 24 * 3600.0
#: Dead letters kept before the oldest are discarded.
DEFAULT_DEAD_LETTER_MAX_MESSAGES = 100_000
#: Bytes of dead letters kept before the oldest are discarded.
DEFAULT_DEAD_LETTER_MAX_BYTES = 1024**3


@dataclasses.dataclass(frozen=True)
class DeadLetterLimits:
    """How much the dead-letter stream keeps; the oldest go first past any limit."""

    max_age: float = DEFAULT_DEAD_LETTER_MAX_AGE
    max_messages: int = DEFAULT_DEAD_LETTER_MAX_MESSAGES
    max_bytes: int = DEFAULT_DEAD_LETTER_MAX_BYTES


class DeadLetterStream:
    """Creates the dead-letter stream and stores dead letters in it."""

    def __init__(self, stream_name: str, subject: str, limits: DeadLetterLimits) -> None:
        self.stream_name = stream_name
        self.subject = subject
        self.limits = limits

    @property
    def max_age(self) -> float:
        """Seconds a dead letter is kept."""
        return self.limits.max_age

    def config(self) -> StreamConfig:
        """The stream as we want it: limits retention, on disk, bounded three ways."""
        return StreamConfig(
            name=self.stream_name,
            subjects=[self.subject],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=self.limits.max_age,
            max_msgs=self.limits.max_messages,
            max_bytes=self.limits.max_bytes,
            discard=DiscardPolicy.OLD,
        )

    async def ensure(self, js: JetStreamContext) -> None:
        """Create the stream, or bring an existing one's limits to ours."""
        wanted = self.config()
        try:
            info = await js.stream_info(self.stream_name)
        except NotFoundError:
            await js.add_stream(wanted)
            return
        have = info.config
        limits = (have.max_age, have.max_msgs, have.max_bytes)
        if limits != (wanted.max_age, wanted.max_msgs, wanted.max_bytes):
            await js.update_stream(
                dataclasses.replace(
                    have,
                    max_age=wanted.max_age,
                    max_msgs=wanted.max_msgs,
                    max_bytes=wanted.max_bytes,
                    discard=DiscardPolicy.OLD,
                ),
            )

    async def put(self, js: JetStreamContext, msg: Msg, reason: str) -> None:
        """Store a copy of ``msg``; returns once JetStream has persisted it."""
        headers = own_headers(msg.headers)
        headers[hdr.DEAD_REASON] = reason
        headers[hdr.ORIGINAL_SUBJECT] = msg.subject
        headers[hdr.DELIVERIES] = str(msg.metadata.num_delivered)
        await js.publish(self.subject, msg.data, headers=headers)


class NatsDeadLetterStore(DeadLetterStore):
    """The dead-letter stream as the core contract; ids are stream sequence numbers.

    ``to_queue`` of a replay is the subject to publish on (a subject of some
    JetStream stream); by default a dead letter goes back to the subject it
    was consumed from.
    """

    def __init__(self, stream_name: str, jetstream: Callable[[], JetStreamContext]) -> None:
        self.stream_name = stream_name
        self._jetstream = jetstream

    async def list(
        self, limit: int = DEFAULT_PAGE_SIZE, cursor: str | None = None
    ) -> DeadLetterPage:
        """Up to ``limit`` dead letters from sequence ``cursor`` on, oldest first."""
        start = _sequence(cursor) or 1
        letters: list[DeadLetter] = []
        with nats_errors(BrokerError, "Cannot read the dead-letter stream"):
            async for raw in self._from(start, limit):
                letters.append(to_dead_letter(raw))
        more = len(letters) == limit and letters
        return DeadLetterPage(tuple(letters), str(int(letters[-1].id) + 1) if more else None)

    async def count(self) -> int:
        """Messages in the dead-letter stream now."""
        with nats_errors(BrokerError, "Cannot read the dead-letter stream"):
            info = await self._jetstream().stream_info(self.stream_name)
        return int(info.state.messages)

    async def replay(self, ids: Collection[str], *, to_queue: str | None = None) -> int:
        """Republish dead letters ``ids``, then delete them here; return how many existed."""
        replayed = 0
        with nats_errors(BrokerError, "Replaying dead letters failed part-way; list them again"):
            for sequence in filter(None, map(_sequence, ids)):
                raw = await self._get(sequence)
                if raw is not None:
                    replayed += await self._replay(raw, to_queue)
        return replayed

    async def replay_all(self, *, to_queue: str | None = None) -> int:
        """Replay every dead letter up to the last sequence there was at the start."""
        with nats_errors(BrokerError, "Replaying dead letters failed part-way; list them again"):
            last = (await self._jetstream().stream_info(self.stream_name)).state.last_seq
            replayed = 0
            async for raw in self._from(1, None):
                if (raw.seq or 0) > last:
                    break
                replayed += await self._replay(raw, to_queue)
        return replayed

    async def delete(self, ids: Collection[str]) -> int:
        """Forget dead letters ``ids``; return how many existed."""
        deleted = 0
        with nats_errors(BrokerError, "Cannot delete dead letters"):
            for sequence in filter(None, map(_sequence, ids)):
                deleted += await self._delete(sequence)
        return deleted

    async def delete_all(self) -> int:
        """Purge everything up to the last sequence seen; return how many that was."""
        js = self._jetstream()
        with nats_errors(BrokerError, "Cannot purge the dead-letter stream"):
            state = (await js.stream_info(self.stream_name)).state
            if state.messages:
                await js.purge_stream(self.stream_name, seq=state.last_seq + 1)
        return int(state.messages)

    async def _from(self, start: int, limit: int | None) -> AsyncIterator[RawStreamMsg]:
        sequence, taken = start, 0
        while limit is None or taken < limit:
            try:
                raw = await self._jetstream().get_msg(
                    self.stream_name, sequence, subject=">", next=True
                )
            except NotFoundError:
                return
            yield raw
            taken += 1
            sequence = (raw.seq or sequence) + 1

    async def _get(self, sequence: int) -> RawStreamMsg | None:
        try:
            return await self._jetstream().get_msg(self.stream_name, sequence)
        except NotFoundError:
            return None

    async def _replay(self, raw: RawStreamMsg, to_queue: str | None) -> int:
        headers = {
            k: v for k, v in own_headers(raw.headers).items() if k not in hdr.DEAD_LETTER_HEADERS
        }
        subject = to_queue or (raw.headers or {}).get(hdr.ORIGINAL_SUBJECT)
        if not subject:
            return 0
        await self._jetstream().publish(subject, raw.data or b"", headers=headers)
        return await self._delete(raw.seq or 0)

    async def _delete(self, sequence: int) -> int:
        try:
            return int(await self._jetstream().delete_msg(self.stream_name, sequence))
        except NotFoundError:
            return 0


def own_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """Headers without NATS's own (``Nats-Expected-Stream`` would misroute a copy)."""
    return {k: v for k, v in (headers or {}).items() if not k.lower().startswith("nats-")}


def to_dead_letter(raw: RawStreamMsg) -> DeadLetter:
    """The `DeadLetter` of one message of the dead-letter stream."""
    headers = dict(raw.headers or {})
    try:
        deliveries: int | None = int(headers.get(hdr.DELIVERIES, ""))
    except ValueError:
        deliveries = None
    subject = headers.get(hdr.ORIGINAL_SUBJECT, "")
    return DeadLetter(
        id=str(raw.seq),
        queue=subject,
        task_id=headers.get(hdr.TASK_ID),
        task_name=headers.get(hdr.TASK_NAME),
        reason=headers.get(hdr.DEAD_REASON, "unknown"),
        delivery_count=deliveries,
        time=_utc(raw.time),
        message=raw.data or b"",
        details={"sequence": raw.seq, "original_subject": subject, "headers": headers},
    )


def _utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _sequence(dead_letter_id: str | None) -> int | None:
    """The sequence an id names; None for anything that is not a positive integer."""
    if dead_letter_id is None or not dead_letter_id.isdigit():
        return None
    return int(dead_letter_id) or None

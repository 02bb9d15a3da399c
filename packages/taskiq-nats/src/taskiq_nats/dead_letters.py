"""The dead-letter stream: where deliveries that must not run again are kept.

A delivery lands here when the receiver rejects it (it cannot be decoded, its
task is unknown, the task called ``Context.reject()``) or when it was delivered
``max_deliver`` times without being acknowledged. The copy keeps the original
payload and headers plus three headers of our own (reason, original subject,
delivery count), so a person can inspect it and replay it after a fix. The
stream keeps dead letters for ``max_age`` seconds (7 days by default).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from taskiq_nats import headers as hdr

#: Seconds a dead letter is kept before the stream discards it.
DEFAULT_DEAD_LETTER_MAX_AGE = 7 * 24 * 3600.0


@dataclass
class DeadLetter:
    """One dead-lettered task message, as `get_dead_letters` returns it."""

    sequence: int
    data: bytes
    reason: str
    original_subject: str
    deliveries: int
    headers: dict[str, str] = field(default_factory=dict)
    time: datetime.datetime | None = None

    @property
    def task_id(self) -> str | None:
        """The task id from the message headers (None for foreign messages)."""
        return self.headers.get(hdr.TASK_ID)

    @property
    def task_name(self) -> str | None:
        """The task name from the message headers (None for foreign messages)."""
        return self.headers.get(hdr.TASK_NAME)


class DeadLetterStream:
    """Stores, lists, replays and deletes dead letters in one JetStream stream."""

    def __init__(self, stream_name: str, subject: str, max_age: float) -> None:
        self.stream_name = stream_name
        self.subject = subject
        self.max_age = max_age

    async def ensure(self, js: JetStreamContext) -> None:
        """Create the stream unless it exists (an existing one is used as it is)."""
        try:
            await js.stream_info(self.stream_name)
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=self.stream_name,
                    subjects=[self.subject],
                    retention=RetentionPolicy.LIMITS,
                    storage=StorageType.FILE,
                    max_age=self.max_age,
                ),
            )

    async def put(self, js: JetStreamContext, msg: Msg, reason: str) -> None:
        """Store a copy of ``msg``; returns once JetStream has persisted it."""
        headers = _own_headers(msg.headers)
        headers[hdr.DEAD_REASON] = reason
        headers[hdr.ORIGINAL_SUBJECT] = msg.subject
        headers[hdr.DELIVERIES] = str(msg.metadata.num_delivered)
        await js.publish(self.subject, msg.data, headers=headers)

    async def list(self, js: JetStreamContext, limit: int | None) -> list[DeadLetter]:
        """Dead letters, oldest first, at most ``limit`` of them."""
        letters: list[DeadLetter] = []
        sequence = 1
        while limit is None or len(letters) < limit:
            try:
                raw = await js.get_msg(self.stream_name, sequence, subject=">", next=True)
            except NotFoundError:
                break
            letters.append(_to_dead_letter(raw.seq or sequence, raw.data, raw.headers, raw.time))
            sequence = (raw.seq or sequence) + 1
        return letters

    async def replay(self, js: JetStreamContext, letter: DeadLetter) -> None:
        """Publish ``letter`` again on its original subject, then delete it here."""
        headers = {
            k: v
            for k, v in _own_headers(letter.headers).items()
            if k not in hdr.DEAD_LETTER_HEADERS
        }
        await js.publish(letter.original_subject, letter.data, headers=headers)
        await self.delete(js, letter.sequence)

    async def delete(self, js: JetStreamContext, sequence: int) -> None:
        """Forget one dead letter."""
        await js.delete_msg(self.stream_name, sequence)


def _own_headers(headers: dict[str, str] | None) -> dict[str, str]:
    """Headers without NATS's own (``Nats-Expected-Stream`` would misroute a copy)."""
    return {k: v for k, v in (headers or {}).items() if not k.lower().startswith("nats-")}


def _to_dead_letter(
    sequence: int,
    data: bytes | None,
    headers: dict[str, str] | None,
    stored_at: datetime.datetime | None,
) -> DeadLetter:
    all_headers = dict(headers or {})
    try:
        deliveries = int(all_headers.get(hdr.DELIVERIES, "0"))
    except ValueError:
        deliveries = 0
    return DeadLetter(
        sequence=sequence,
        data=data or b"",
        reason=all_headers.get(hdr.DEAD_REASON, "unknown"),
        original_subject=all_headers.get(hdr.ORIGINAL_SUBJECT, ""),
        deliveries=deliveries,
        headers=all_headers,
        time=stored_at,
    )

"""Events: a live feed of what workers do, for ``taskiq events`` and dashboards.

Workers publish an `Event` when they receive, start, finish, retry or dead-letter a
task, and when a worker child comes online or goes offline. Events travel through the
result backend's transport (Redis pub/sub, a NATS core subject, in process) and are
*live*: a subscriber sees what happens while it listens, nothing from before, and an
event published while nobody listens is gone. Delivery is best effort (at most once):
the durable record of a task is its state (`taskiq.control.task_states`).

Result backends that carry events implement `SupportsEvents`; `events_of` finds the
feed or says in one line that the backend cannot. Reading the feed::

    feed = events_of(broker)
    async with await feed.subscribe() as stream:  # subscribed once this returns
        async for event in stream:
            print(event.kind.value, event.task_id)

Publishing costs nothing measurable while nobody subscribes: workers ask the feed
whether anyone listens (`EventFeed.watched`) at most every few seconds and drop
events until someone does (`taskiq.control.event_publisher`).
"""

from __future__ import annotations

import abc
import datetime
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Any, Protocol, runtime_checkable

from typing_extensions import Self

from taskiq.control.workers import WorkerId
from taskiq.exceptions import NotSupportedError


class EventKind(str, Enum):
    """What happened (the values are what JSON carries)."""

    TASK_RECEIVED = "task-received"
    TASK_STARTED = "task-started"
    TASK_SUCCEEDED = "task-succeeded"
    TASK_FAILED = "task-failed"
    TASK_RETRIED = "task-retried"
    TASK_DEAD_LETTERED = "task-dead-lettered"
    #: Reserved for cancellation (a later issue); nothing publishes it yet.
    TASK_CANCELLED = "task-cancelled"
    WORKER_ONLINE = "worker-online"
    WORKER_OFFLINE = "worker-offline"

    @property
    def is_task(self) -> bool:
        """True for the ``task-*`` kinds (they name a task)."""
        return self.value.startswith("task-")


@dataclass(frozen=True)
class Event:
    """One thing that happened, where and when (aware UTC).

    - ``task_id`` / ``task_name``: the task, for ``task-*`` kinds (None otherwise).
    - ``worker``: the process it happened in (None when unknown).
    - ``extra``: what else is known, JSON-compatible: ``error`` (failed, retried),
      ``reason`` (dead-lettered), ``attempt``, ``duration`` (seconds, finished
      tasks), ``queues`` and ``concurrency`` (worker-online).
    """

    kind: EventKind
    time: datetime.datetime
    task_id: str | None = None
    task_name: str | None = None
    worker: WorkerId | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def now(cls, kind: EventKind, **fields: Any) -> Event:
        """An event of ``kind`` happening now."""
        return cls(kind=kind, time=datetime.datetime.now(datetime.timezone.utc), **fields)

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (what travels, and what ``taskiq events --json`` prints)."""
        worker = self.worker
        return {
            "kind": self.kind.value,
            "time": self.time.isoformat(),
            "task_id": self.task_id,
            "task_name": self.task_name,
            "worker": None
            if worker is None
            else {"host": worker.host, "pid": worker.pid, "index": worker.index},
            "extra": dict(self.extra),
        }

    def to_bytes(self) -> bytes:
        """`to_json` as UTF-8 JSON, one line."""
        return json.dumps(self.to_json(), separators=(",", ":"), default=str).encode()

    @classmethod
    def from_json(cls, raw: bytes | str | Mapping[str, Any]) -> Event:
        """The event `to_bytes` wrote; raises ValueError (KeyError, TypeError) if not one."""
        data = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
        if not isinstance(data, Mapping):
            raise TypeError("an event is a JSON object")
        worker = data.get("worker")
        extra = data.get("extra") or {}
        if not isinstance(extra, Mapping):
            raise TypeError("an event's extra must be an object")
        return cls(
            kind=EventKind(data["kind"]),
            time=datetime.datetime.fromisoformat(data["time"]),
            task_id=data.get("task_id"),
            task_name=data.get("task_name"),
            worker=None if worker is None else WorkerId(**worker),
            extra=dict(extra),
        )

    @classmethod
    def read(cls, raw: bytes | str) -> Event | None:
        """`from_json`, or None for something that is not an event (for subscribers)."""
        try:
            return cls.from_json(raw)
        except (ValueError, KeyError, TypeError):
            return None


#: Events per message when a transport packs a batch into one (`pack_events`).
EVENTS_PER_MESSAGE = 500


def pack_events(events: Sequence[Event]) -> list[bytes]:
    """``events`` as messages of up to `EVENTS_PER_MESSAGE` JSON lines each.

    One message per batch instead of one per event: what keeps a watched feed cheap
    on Redis, where each command costs the worker a packed request and a parsed reply.
    """
    lines = [event.to_bytes() for event in events]
    step = EVENTS_PER_MESSAGE
    return [b"\n".join(lines[start : start + step]) for start in range(0, len(lines), step)]


def unpack_events(message: bytes | str) -> list[Event]:
    """The events of a message `pack_events` made; lines that are not events are skipped."""
    raw = message.encode() if isinstance(message, str) else message
    events = (Event.read(line) for line in raw.split(b"\n") if line)
    return [event for event in events if event is not None]


class EventStream(abc.ABC):
    """One subscription: an async iterator of events, closed with `aclose` (or ``async with``).

    Iteration ends after `aclose`. Events that arrive faster than they are read are
    buffered up to a bound; beyond it the oldest are dropped (a slow reader never
    slows the workers down).
    """

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    @abc.abstractmethod
    async def __anext__(self) -> Event:
        """The next event; `StopAsyncIteration` once closed."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Unsubscribe (idempotent)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class EventFeed(abc.ABC):
    """Where events travel: publish a batch, ask whether anyone listens, subscribe."""

    @abc.abstractmethod
    async def publish(self, events: Sequence[Event]) -> None:
        """Send ``events`` (in order) to every current subscriber; none listening is no error."""

    @abc.abstractmethod
    async def watched(self) -> bool:
        """True if at least one subscriber listens now (publishers skip work otherwise)."""

    @abc.abstractmethod
    async def subscribe(self) -> EventStream:
        """Start listening; every event published after this returns is delivered."""

    def __aiter__(self) -> AsyncIterator[Event]:
        """``async for event in feed``: subscribe, yield forever (close the loop to stop)."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        async with await self.subscribe() as stream:
            async for event in stream:
                yield event


@runtime_checkable
class SupportsEvents(Protocol):
    """A result backend that carries the events feed (Redis, NATS KV, in-memory)."""

    def event_feed(self) -> EventFeed:
        """The feed on this backend's transport."""


def events_of(broker: object) -> EventFeed:
    """The events feed of ``broker``'s result backend (or of a result backend given itself).

    Raises `NotSupportedError` when the backend cannot carry events.
    """
    backend = getattr(broker, "result_backend", broker)
    if not isinstance(backend, SupportsEvents):
        name = type(backend).__name__
        raise NotSupportedError(
            f"Events are not supported by {name}: they travel through the result backend. "
            "Use a Redis, NATS key-value or in-memory result backend.",
            feature="events",
            implementation=name,
        )
    return backend.event_feed()

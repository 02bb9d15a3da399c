"""What a dead letter looks like when you list it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from taskiq_redis.keys import DATA_FIELD, DELIVERIES_FIELD, TASK_ID_FIELD, TASK_NAME_FIELD


@dataclass(frozen=True)
class DeadLetter:
    """A message that will not be delivered again unless you replay it.

    ``reason`` says why it died (``rejected``, ``delivered 5 times``,
    ``malformed entry``); ``data`` is the original payload, untouched.
    """

    id: str
    data: bytes
    task_id: str | None
    task_name: str | None
    reason: str
    deliveries: int
    origin: str
    dead_at: datetime.datetime | None

    @classmethod
    def from_entry(cls, entry_id: bytes | str, fields: dict[bytes, bytes]) -> DeadLetter:
        """Build from a dead-letter stream entry (field names: see stream_dead_letter.lua)."""

        def text(name: bytes) -> str | None:
            value = fields.get(name)
            return None if value is None else value.decode(errors="replace")

        dead_at_ms = text(b"dead_at_ms")
        return cls(
            id=entry_id.decode() if isinstance(entry_id, bytes) else entry_id,
            data=fields.get(DATA_FIELD, b""),
            task_id=text(TASK_ID_FIELD),
            task_name=text(TASK_NAME_FIELD),
            reason=text(b"reason") or "unknown",
            deliveries=int(float(text(DELIVERIES_FIELD) or 0)),
            origin=text(b"origin") or "",
            dead_at=_from_ms(dead_at_ms),
        )


def _from_ms(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    return datetime.datetime.fromtimestamp(float(value) / 1000, tz=datetime.timezone.utc)

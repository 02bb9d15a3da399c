"""MessagePack: compact binary, readable from most languages (``taskiq[msgpack]``).

``datetime``, ``date`` and ``UUID`` values round-trip as those types, as they
do through JSON and a task's annotations. A datetime travels as MessagePack's
standard timestamp (extension -1, which other languages read); a naive one is
taken as UTC, and every datetime comes back aware, in UTC. A date and a UUID
use two application extensions of this package: 1 holds a UUID's 16 bytes, 2 a
date in ISO 8601 (``2030-01-31``).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from taskiq.abc.serializer import TaskiqSerializer
from taskiq.serializers._extras import require

UUID_EXT = 1
DATE_EXT = 2


class MSGPackSerializer(TaskiqSerializer):
    """Encodes with ``msgpack``; ``default`` converts types msgpack does not know.

    ``default`` is consulted after the datetime, date and UUID conversions.
    """

    def __init__(self, default: Any = None) -> None:
        self._msgpack = require("msgpack", "msgpack", "MSGPackSerializer")
        self.default = default

    def dumpb(self, value: Any) -> bytes:
        """Encode ``value``; raises TypeError for unsupported types."""
        encoded: bytes = self._msgpack.packb(value, default=self._encode_other, datetime=True)
        return encoded

    def loadb(self, value: bytes) -> Any:
        """Decode MessagePack bytes; raises ValueError on garbage."""
        try:
            return self._msgpack.unpackb(value, timestamp=3, ext_hook=self._decode_ext)
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(f"Not a MessagePack payload: {exc}") from exc

    def _encode_other(self, value: Any) -> Any:
        """What msgpack cannot encode itself: naive datetimes, dates, UUIDs, then ``default``."""
        if isinstance(value, datetime.datetime):  # msgpack passes on naive ones only
            return value.replace(tzinfo=datetime.timezone.utc)
        if isinstance(value, datetime.date):
            return self._msgpack.ExtType(DATE_EXT, value.isoformat().encode())
        if isinstance(value, uuid.UUID):
            return self._msgpack.ExtType(UUID_EXT, value.bytes)
        if self.default is not None:
            return self.default(value)
        raise TypeError(f"MSGPackSerializer cannot encode {type(value).__name__!r} values")

    def _decode_ext(self, code: int, data: bytes) -> Any:
        if code == UUID_EXT:
            return uuid.UUID(bytes=data)
        if code == DATE_EXT:
            return datetime.date.fromisoformat(data.decode())
        return self._msgpack.ExtType(code, data)

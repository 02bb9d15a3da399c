"""CBOR (RFC 8949): binary, standardised, with dates and big integers (``taskiq[cbor]``).

``datetime``, ``date`` and ``UUID`` values round-trip as those types, as they
do through JSON and a task's annotations, with CBOR's standard tags (0/1 for
datetimes, 100/1004 for dates, 37 for UUIDs) that other languages read. An
aware datetime keeps its offset; a naive one is taken as UTC and comes back
aware, in UTC.
"""

from __future__ import annotations

import datetime
from typing import Any

from taskiq.abc.serializer import TaskiqSerializer
from taskiq.serializers._extras import require


class CBORSerializer(TaskiqSerializer):
    """Encodes with ``cbor2``; ``default`` converts types cbor2 does not know."""

    def __init__(self, default: Any = None) -> None:
        self._cbor2 = require("cbor2", "cbor", "CBORSerializer")
        self.default = default

    def dumpb(self, value: Any) -> bytes:
        """Encode ``value``; raises TypeError/ValueError for unsupported types."""
        try:
            encoded: bytes = self._cbor2.dumps(
                value, default=self.default, timezone=datetime.timezone.utc
            )
        except self._cbor2.CBOREncodeError as exc:
            raise TypeError(str(exc)) from exc
        return encoded

    def loadb(self, value: bytes) -> Any:
        """Decode CBOR bytes; raises ValueError on garbage."""
        try:
            return self._cbor2.loads(value)
        except self._cbor2.CBORDecodeError as exc:
            raise ValueError(f"Not a CBOR payload: {exc}") from exc

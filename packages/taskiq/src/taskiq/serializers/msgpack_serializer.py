"""MessagePack: compact binary, readable from most languages (``taskiq[msgpack]``)."""

from __future__ import annotations

from typing import Any

from taskiq.abc.serializer import TaskiqSerializer
from taskiq.serializers._extras import require


class MSGPackSerializer(TaskiqSerializer):
    """Encodes with ``msgpack``; ``default`` converts types msgpack does not know."""

    def __init__(self, default: Any = None) -> None:
        self._msgpack = require("msgpack", "msgpack", "MSGPackSerializer")
        self.default = default

    def dumpb(self, value: Any) -> bytes:
        """Encode ``value``; raises TypeError for unsupported types."""
        encoded: bytes = self._msgpack.packb(value, default=self.default)
        return encoded

    def loadb(self, value: bytes) -> Any:
        """Decode MessagePack bytes; raises ValueError on garbage."""
        try:
            return self._msgpack.unpackb(value)
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(f"Not a MessagePack payload: {exc}") from exc

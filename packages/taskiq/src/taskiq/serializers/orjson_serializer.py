"""JSON through orjson: the same wire format as the default, faster (``taskiq[orjson]``)."""

from __future__ import annotations

from typing import Any

from taskiq.abc.serializer import TaskiqSerializer
from taskiq.serializers._extras import require


class ORJSONSerializer(TaskiqSerializer):
    """Encodes with ``orjson``; ``default`` and ``option`` are passed to ``orjson.dumps``."""

    def __init__(self, default: Any = None, option: int | None = None) -> None:
        self._orjson = require("orjson", "orjson", "ORJSONSerializer")
        self.default = default
        self.option = option

    def dumpb(self, value: Any) -> bytes:
        """Encode ``value`` as JSON bytes; raises TypeError for unsupported types."""
        encoded: bytes = self._orjson.dumps(value, default=self.default, option=self.option)
        return encoded

    def loadb(self, value: bytes) -> Any:
        """Decode JSON bytes; raises ValueError on garbage."""
        return self._orjson.loads(value)

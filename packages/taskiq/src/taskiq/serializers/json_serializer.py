"""The default serializer: UTF-8 JSON, readable by any language."""

from __future__ import annotations

import json
from typing import Any

from taskiq.abc.serializer import TaskiqSerializer


class JSONSerializer(TaskiqSerializer):
    """Encodes with the standard library's ``json``; ``default`` handles extra types."""

    def __init__(self, default: Any = None) -> None:
        self.default = default

    def dumpb(self, value: Any) -> bytes:
        """Encode ``value`` as compact JSON."""
        return json.dumps(value, default=self.default, separators=(",", ":")).encode()

    def loadb(self, value: bytes) -> Any:
        """Decode JSON bytes."""
        return json.loads(value)

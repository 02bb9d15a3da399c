"""Pickle: any Python object, Python only, and only between processes you trust."""

from __future__ import annotations

import pickle
from typing import Any

from taskiq.abc.serializer import TaskiqSerializer


class PickleSerializer(TaskiqSerializer):
    """Encodes with the standard library's ``pickle``.

    Unpickling runs code chosen by whoever wrote the bytes: use it only when
    everyone who can write to the broker is trusted. Needs no extra.
    """

    accepts_python_objects = True

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol

    def dumpb(self, value: Any) -> bytes:
        """Pickle ``value``; raises TypeError (or PicklingError) if it cannot be."""
        return pickle.dumps(value, protocol=self.protocol)

    def loadb(self, value: bytes) -> Any:
        """Unpickle bytes; raises ValueError on garbage."""
        try:
            return pickle.loads(value)
        except Exception as exc:
            raise ValueError(f"Not a pickle payload: {exc}") from exc

"""Turns Python values into bytes and back; formatters and result backends use one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class TaskiqSerializer(ABC):
    """A symmetric codec: ``loadb(dumpb(x))`` gives back an equal value."""

    @abstractmethod
    def dumpb(self, value: Any) -> bytes:
        """Encode a value; raise ``TypeError``/``ValueError`` if it cannot be encoded."""

    @abstractmethod
    def loadb(self, value: bytes) -> Any:
        """Decode bytes produced by ``dumpb``; raise ``ValueError`` on garbage."""

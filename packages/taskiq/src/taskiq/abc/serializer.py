"""Turns Python values into bytes and back; formatters and result backends use one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar


class TaskiqSerializer(ABC):
    """A symmetric codec: ``loadb(dumpb(x))`` gives back an equal value.

    The default formatter hands a serializer JSON-compatible values (pydantic's
    JSON mode: models, dates and UUIDs already converted). A serializer that
    can carry arbitrary Python objects sets ``accepts_python_objects = True``
    and receives the arguments as they are.
    """

    accepts_python_objects: ClassVar[bool] = False

    @abstractmethod
    def dumpb(self, value: Any) -> bytes:
        """Encode a value; raise ``TypeError``/``ValueError`` if it cannot be encoded."""

    @abstractmethod
    def loadb(self, value: bytes) -> Any:
        """Decode bytes produced by ``dumpb``; raise ``ValueError`` on garbage."""

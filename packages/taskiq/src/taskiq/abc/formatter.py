"""Turns a `TaskiqMessage` into the `BrokerMessage` a broker carries, and back."""

from __future__ import annotations

from abc import ABC, abstractmethod

from taskiq.message import BrokerMessage, TaskiqMessage


class TaskiqFormatter(ABC):
    """Defines the wire format of task messages.

    ``loads`` must raise ``ValueError`` (pydantic's ``ValidationError`` is one)
    for a payload it cannot decode, so the receiver can drop it and go on.
    """

    @abstractmethod
    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        """Encode a task call for the broker."""

    @abstractmethod
    def loads(self, message: bytes) -> TaskiqMessage:
        """Decode a payload received from the broker."""

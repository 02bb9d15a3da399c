"""The default formatter: the message as an object, encoded by the broker's serializer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskiq.abc.formatter import TaskiqFormatter
from taskiq.message import BrokerMessage, TaskiqMessage

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker


class ProxyFormatter(TaskiqFormatter):
    """Formats with whatever serializer the broker has *now* (``with_serializer`` later works)."""

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker

    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        """Encode the message's fields with the broker's serializer.

        Values are converted to JSON types first unless the serializer says it
        accepts Python objects (`TaskiqSerializer.accepts_python_objects`).
        """
        serializer = self.broker.serializer
        mode = "python" if serializer.accepts_python_objects else "json"
        return BrokerMessage(
            task_id=message.task_id,
            task_name=message.task_name,
            message=serializer.dumpb(message.model_dump(mode=mode)),
            labels=message.labels,
        )

    def loads(self, message: bytes) -> TaskiqMessage:
        """Decode and validate; raises ``ValueError`` on a malformed payload."""
        return TaskiqMessage.model_validate(self.broker.serializer.loadb(message))

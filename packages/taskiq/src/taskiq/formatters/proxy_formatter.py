"""The default formatter: the message as an object, encoded by the broker's serializer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskiq.abc.formatter import TaskiqFormatter
from taskiq.message import BrokerMessage, TaskiqMessage
from taskiq.serializers.model_codec import dump_model, load_model

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker


class ProxyFormatter(TaskiqFormatter):
    """Formats with whatever serializer the broker has *now* (``with_serializer`` later works)."""

    def __init__(self, broker: AsyncBroker) -> None:
        self.broker = broker

    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        """Encode the message's fields with the broker's serializer.

        Values are converted to JSON types first unless the serializer says it
        accepts Python objects (`TaskiqSerializer.accepts_python_objects`); see
        `taskiq.serializers.model_codec` for the default JSON's fast path.
        """
        return BrokerMessage(
            task_id=message.task_id,
            task_name=message.task_name,
            message=dump_model(self.broker.serializer, message),
            labels=message.labels,
        )

    def loads(self, message: bytes) -> TaskiqMessage:
        """Decode and validate; raises ``ValueError`` on a malformed payload."""
        return load_model(self.broker.serializer, TaskiqMessage, message)

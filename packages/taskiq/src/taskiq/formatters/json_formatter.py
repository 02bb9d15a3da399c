"""A formatter that writes the message as JSON itself, whatever the broker's serializer."""

from __future__ import annotations

from taskiq.abc.formatter import TaskiqFormatter
from taskiq.message import BrokerMessage, TaskiqMessage


class JSONFormatter(TaskiqFormatter):
    """Encodes with pydantic's JSON encoder (dates, UUIDs, models become JSON values)."""

    def dumps(self, message: TaskiqMessage) -> BrokerMessage:
        """Encode the message as UTF-8 JSON; raises ValueError for unserializable values."""
        return BrokerMessage(
            task_id=message.task_id,
            task_name=message.task_name,
            message=message.model_dump_json().encode(),
            labels=message.labels,
        )

    def loads(self, message: bytes) -> TaskiqMessage:
        """Decode and validate; raises ValueError on a malformed payload."""
        return TaskiqMessage.model_validate_json(message)

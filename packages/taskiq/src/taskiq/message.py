"""The two shapes a task takes on its way through the system.

`TaskiqMessage` is what the client and the worker see: Python values, labels,
the task's name. `BrokerMessage` is what a broker carries: the same identity and
labels beside an opaque payload of bytes produced by the formatter. Brokers
never look inside the payload, which is why they can route on labels alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TaskiqMessage(BaseModel):
    """A task call: which task, with which arguments, under which labels.

    Labels are free-form metadata (`timeout`, `retry_on_error`, `priority`, ...)
    that middlewares and brokers act on; `labels_types` is kept for wire
    compatibility with formatters that record the original label types.
    """

    # NaN and infinities travel as the JSON extensions Python's json writes, not as null.
    model_config = ConfigDict(ser_json_inf_nan="constants")

    task_id: str = Field(description="Unique id of this call; results are stored under it.")
    task_name: str = Field(description="Registered name of the task, usually module:function.")
    labels: dict[str, Any] = Field(
        default_factory=dict,
        description="Metadata acted on by brokers and middlewares (delay, priority, timeout).",
    )
    labels_types: dict[str, int] | None = Field(
        default=None,
        description="Unused by taskiq; accepted for compatibility with older producers.",
    )
    args: list[Any] = Field(
        default_factory=list,
        description="Positional arguments as JSON values.",
    )
    kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments as JSON values.",
    )


@dataclass
class BrokerMessage:
    """A formatted task as a broker transports it: `message` is the encoded payload."""

    task_id: str
    task_name: str
    message: bytes
    labels: dict[str, Any] = field(default_factory=dict)

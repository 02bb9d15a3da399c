"""Reading the labels that change how a message is published.

Labels may arrive as strings (from a scheduler, another language, a CLI), so
every parser accepts numbers written as text and rejects garbage with a
`SendTaskError` that names the label, instead of publishing something wrong.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from taskiq.exceptions import SendTaskError
from taskiq.time_labels import sent_delay

#: The longest delay RabbitMQ's TTL accepts (2^32 - 1 milliseconds, ~49 days).
MAX_DELAY_MS = 2**32 - 1


def _number(labels: Mapping[str, Any], name: str) -> float | None:
    value = labels.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise SendTaskError(f"Label {name!r} must be a number, got {value!r}.", reason=name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SendTaskError(
            f"Label {name!r} must be a number, got {value!r}.", reason=name
        ) from None
    if not math.isfinite(number):
        raise SendTaskError(f"Label {name!r} must be finite, got {value!r}.", reason=name)
    return number


def delay_ms(labels: Mapping[str, Any]) -> int | None:
    """The ``delay`` label (seconds) in whole milliseconds; None when there is no delay."""
    seconds = sent_delay(labels)  # the core's bounds: a number from 0 to ten years
    if seconds <= 0:
        return None
    milliseconds = round(seconds * 1000)
    if milliseconds > MAX_DELAY_MS:
        raise SendTaskError(
            f"Label 'delay' is {seconds} s; RabbitMQ delays at most {MAX_DELAY_MS // 1000} s. "
            "Use a scheduler for longer delays.",
            reason="delay",
        )
    return milliseconds or None


def priority(labels: Mapping[str, Any], name: str = "priority") -> int | None:
    """The ``name`` label as an AMQP priority (0..255; a queue caps it at its maximum)."""
    value = _number(labels, name)
    if value is None:
        return None
    return max(0, min(int(value), 255))


def text(labels: Mapping[str, Any], name: str) -> str | None:
    """A label that names something (a queue, a routing key); None when absent or empty."""
    value = labels.get(name)
    if value is None or value == "":
        return None
    return str(value)

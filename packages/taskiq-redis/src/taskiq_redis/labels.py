"""Reading the labels a Redis broker acts on; labels may arrive as strings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from taskiq.time_labels import sent_delay

logger = logging.getLogger("taskiq_redis")


def _number(labels: Mapping[str, Any], name: str) -> float | None:
    value = labels.get(name)
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        logger.warning("Ignoring label %s=%r: it is not a number.", name, value)
        return None


def delay_seconds(labels: Mapping[str, Any]) -> float:
    """The ``delay`` label in seconds; 0 when absent; out of bounds raises `SendTaskError`.

    The bounds are the core's (`taskiq.time_labels`): a number from 0 to ten years.
    """
    return sent_delay(labels)


def priority_level(labels: Mapping[str, Any]) -> int:
    """The ``priority`` label as an int; 0 (the lowest) when absent or malformed."""
    priority = _number(labels, "priority")
    return int(priority) if priority is not None else 0

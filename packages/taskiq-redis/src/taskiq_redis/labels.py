"""Reading the labels a Redis broker acts on; labels may arrive as strings."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

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
    """The ``delay`` label in seconds; 0 when absent, negative or malformed."""
    delay = _number(labels, "delay")
    return delay if delay is not None and delay > 0 else 0.0


def priority_level(labels: Mapping[str, Any]) -> int:
    """The ``priority`` label as an int; 0 (the lowest) when absent or malformed."""
    priority = _number(labels, "priority")
    return int(priority) if priority is not None else 0

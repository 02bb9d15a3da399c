"""Read labels defensively: they may arrive as strings from any broker or language.

A label set in Python as ``retry_on_error=True`` may come back as ``"True"``
after a trip through headers, and ``max_retries=3`` as ``"3"``. These helpers
accept both and fall back to the caller's default on anything unreadable,
logging why, so a typo in a label never crashes a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger("taskiq.middlewares")

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


def label_bool(labels: Mapping[str, Any], name: str, default: bool) -> bool:
    """``True``/``"True"``/``"1"`` are true, ``False``/``"false"``/``"0"`` false."""
    value = labels.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    logger.warning("Label %r=%r is not a boolean; using %r.", name, value, default)
    return default


def label_int(labels: Mapping[str, Any], name: str, default: int) -> int:
    """An integer label (``3`` or ``"3"``); garbage gives ``default``."""
    value = labels.get(name)
    if value is None:
        return default
    try:
        return int(float(value))
    except (TypeError, ValueError):
        logger.warning("Label %r=%r is not an integer; using %r.", name, value, default)
        return default


def label_float(labels: Mapping[str, Any], name: str, default: float) -> float:
    """A number label (``1.5`` or ``"1.5"``); garbage gives ``default``."""
    value = labels.get(name)
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        logger.warning("Label %r=%r is not a number; using %r.", name, value, default)
        return default

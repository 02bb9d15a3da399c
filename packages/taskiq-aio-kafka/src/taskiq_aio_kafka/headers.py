"""The Kafka record headers taskiq writes, and reading them back.

The record value stays the formatter's bytes. Headers carry what the broker
acts on without decoding the payload: identity (for logs and dead letters), how
many deliveries already failed (for ``max_deliveries``), and for delayed tasks
when and where they are due.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

logger = logging.getLogger("taskiq_aio_kafka")

Headers = list[tuple[str, bytes]]

TASK_ID = "taskiq-task-id"
TASK_NAME = "taskiq-task-name"
#: On a dead letter: its deliveries, the one that died included. On a task record
#: (only if someone wrote it): deliveries that already failed, counted towards the limit.
DELIVERIES = "taskiq-deliveries"
#: Unix time (sender's clock) before which the task must not run (delay topic only).
NOT_BEFORE = "taskiq-not-before"
#: The topic a delayed task is moved to when it is due.
TARGET_TOPIC = "taskiq-target-topic"
#: Dead letters: why, from which topic, when.
DEAD_REASON = "taskiq-dead-letter-reason"
ORIGINAL_TOPIC = "taskiq-original-topic"
DEAD_AT = "taskiq-dead-at"
#: A marker record in the dead-letter topic: the dead letter at this offset is settled.
SETTLES = "taskiq-dead-letter-settles"

#: Headers that describe one stay in the dead-letter topic, dropped on replay.
DEAD_LETTER_HEADERS = frozenset({DEAD_REASON, ORIGINAL_TOPIC, DEAD_AT, DELIVERIES})
#: Headers that describe a delay, dropped when the task is moved to its topic.
DELAY_HEADERS = frozenset({NOT_BEFORE, TARGET_TOPIC})


def as_dict(headers: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    """Headers as text (the last value of a repeated name wins)."""
    return {name: value.decode(errors="replace") for name, value in headers or ()}


def encode(headers: Mapping[str, str]) -> Headers:
    """Text headers as Kafka wants them."""
    return [(name, value.encode()) for name, value in headers.items()]


def without(headers: Mapping[str, str], names: frozenset[str]) -> dict[str, str]:
    """``headers`` minus ``names``."""
    return {k: v for k, v in headers.items() if k not in names}


def deliveries(headers: Mapping[str, str]) -> int:
    """Failed deliveries recorded on a record; 0 when absent or unreadable."""
    try:
        return max(int(headers.get(DELIVERIES, "0")), 0)
    except ValueError:
        return 0


def parse_delay(labels: Mapping[str, Any]) -> float:
    """The ``delay`` label in seconds; 0 when absent, negative or unreadable (logged)."""
    raw = labels.get("delay")
    if raw is None or raw == "":
        return 0.0
    try:
        delay = float(raw)
    except (TypeError, ValueError):
        logger.warning("Ignoring delay label %r: not a number of seconds.", raw)
        return 0.0
    if not math.isfinite(delay):
        logger.warning("Ignoring delay label %r: not a finite number of seconds.", raw)
        return 0.0
    return max(delay, 0.0)


def seconds_until_due(headers: Mapping[str, str]) -> float:
    """Seconds until a delayed record is due; 0 when due or unreadable."""
    raw = headers.get(NOT_BEFORE)
    if raw is None:
        return 0.0
    try:
        remaining = float(raw) - time.time()
    except ValueError:
        logger.warning("Ignoring unreadable %s header %r; the task is due now.", NOT_BEFORE, raw)
        return 0.0
    return remaining if math.isfinite(remaining) and remaining > 0 else 0.0

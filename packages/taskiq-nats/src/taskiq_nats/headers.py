"""The NATS headers taskiq puts on a task message, and how labels map to them.

The payload stays the formatter's bytes; headers carry what the broker itself
acts on (when a delayed task is due) plus the task's identity, so that a dead
letter or a message seen with ``nats stream view`` can be read without decoding
the payload.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from taskiq.message import BrokerMessage

logger = logging.getLogger("taskiq_nats")

TASK_ID = "Taskiq-Task-Id"
TASK_NAME = "Taskiq-Task-Name"
#: Unix time (seconds, sender's clock) before which a worker must not run the task.
NOT_BEFORE = "Taskiq-Not-Before"
#: Set on dead letters: why the message was dead-lettered.
DEAD_REASON = "Taskiq-Dead-Letter-Reason"
#: Set on dead letters: the subject the message was consumed from.
ORIGINAL_SUBJECT = "Taskiq-Original-Subject"
#: Set on dead letters: how many times the message had been delivered.
DELIVERIES = "Taskiq-Deliveries"

DEAD_LETTER_HEADERS = (DEAD_REASON, ORIGINAL_SUBJECT, DELIVERIES)


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


def task_headers(message: BrokerMessage) -> dict[str, str]:
    """Headers for ``message``: identity, plus ``Taskiq-Not-Before`` when delayed."""
    headers = {TASK_ID: message.task_id, TASK_NAME: message.task_name}
    delay = parse_delay(message.labels)
    if delay > 0:
        headers[NOT_BEFORE] = f"{time.time() + delay:.3f}"
    return headers


def seconds_until_due(headers: Mapping[str, str] | None) -> float:
    """Seconds until a delivered message is due; 0 when due or the header is unreadable."""
    raw = (headers or {}).get(NOT_BEFORE)
    if raw is None:
        return 0.0
    try:
        due = float(raw)
    except ValueError:
        logger.warning("Ignoring unreadable %s header %r; running the task now.", NOT_BEFORE, raw)
        return 0.0
    remaining = due - time.time()
    return remaining if math.isfinite(remaining) and remaining > 0 else 0.0

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
from taskiq.time_labels import MAX_DELAY, sent_delay

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

#: How far the sender's clock may run ahead of the worker's before a due time is absurd.
_CLOCK_SLACK = 24 * 3600.0


def parse_delay(labels: Mapping[str, Any]) -> float:
    """The ``delay`` label in seconds; 0 when absent; out of bounds raises `SendTaskError`."""
    return sent_delay(labels)


def task_headers(message: BrokerMessage) -> dict[str, str]:
    """Headers for ``message``: identity, plus ``Taskiq-Not-Before`` when delayed."""
    headers = {TASK_ID: message.task_id, TASK_NAME: message.task_name}
    delay = parse_delay(message.labels)
    if delay > 0:
        headers[NOT_BEFORE] = f"{time.time() + delay:.3f}"
    return headers


def seconds_until_due(headers: Mapping[str, str] | None) -> float:
    """Seconds until a delivered message is due; 0 when due or the header is unreadable.

    Never more than `MAX_DELAY`, so that ``msg.nak(delay=...)`` always accepts it;
    `not_before_problem` tells which messages to dead-letter instead.
    """
    raw = (headers or {}).get(NOT_BEFORE)
    if raw is None:
        return 0.0
    try:
        due = float(raw)
    except ValueError:
        logger.warning("Ignoring unreadable %s header %r; running the task now.", NOT_BEFORE, raw)
        return 0.0
    remaining = due - time.time()
    return min(remaining, MAX_DELAY) if math.isfinite(remaining) and remaining > 0 else 0.0


def not_before_problem(headers: Mapping[str, str] | None) -> str | None:
    """Why a ``Taskiq-Not-Before`` header cannot be honoured, or None when it can.

    A time further ahead than `MAX_DELAY` (plus a day for clocks that disagree)
    was not written by a taskiq sender, which refuses such delays: the message
    is dead-lettered with this reason rather than parked for ever.
    """
    raw = (headers or {}).get(NOT_BEFORE)
    if raw is None:
        return None
    try:
        due = float(raw)
    except ValueError:
        return None  # unreadable: seconds_until_due runs the task now, as before
    if math.isinf(due) or due - time.time() > MAX_DELAY + _CLOCK_SLACK:
        return (
            f"malformed: {NOT_BEFORE} header {raw!r} is more than {MAX_DELAY:.0f} s "
            "(the longest delay) ahead"
        )
    return None

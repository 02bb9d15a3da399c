"""Why a delivery was dead-lettered: a small fixed vocabulary plus detail.

Every broker stores, and every worker logs, one of these texts, so that a
person reading ``taskiq dead-letters`` output or a worker log sees the same
words whichever broker runs underneath:

- ``unknown task 'app:nope'``: no task of that name is registered in the worker;
- ``malformed: <detail>``: the delivery cannot be decoded into a task call;
- ``rejected by the task``: the task called ``Context.reject()``;
- ``failed N times``: delivered N times without being settled (the worker died
  or the message kept failing), which is the broker's delivery limit.

Anything else (a message a broker's own machinery dead-lettered, such as an
expired RabbitMQ message) keeps the broker's text and reads as `ReasonKind.OTHER`.
"""

from __future__ import annotations

import enum

#: The reason of a delivery the task refused with ``Context.reject()``.
REJECTED_BY_TASK = "rejected by the task"

#: Longest detail kept in a ``malformed: ...`` reason (payload excerpts can be huge).
MAX_DETAIL = 200


class ReasonKind(str, enum.Enum):
    """The fixed part of a dead-letter reason; the rest of the text is detail."""

    UNKNOWN_TASK = "unknown task"
    MALFORMED = "malformed"
    REJECTED = "rejected"
    FAILED = "failed"
    OTHER = "other"


def unknown_task(task_name: str) -> str:
    """``unknown task 'app:nope'``."""
    return f"unknown task {task_name!r}"


def malformed(detail: object) -> str:
    """``malformed: <detail>`` on one line (it travels in headers), cut to `MAX_DETAIL`."""
    text = " ".join(str(detail).split()) or type(detail).__name__
    if len(text) > MAX_DETAIL:
        text = text[: MAX_DETAIL - 3] + "..."
    return f"malformed: {text}"


def failed_times(deliveries: int) -> str:
    """``failed N times``: the delivery limit was reached after ``deliveries`` attempts."""
    return f"failed {deliveries} time" + ("" if deliveries == 1 else "s")


def reason_kind(reason: str) -> ReasonKind:
    """Which part of the vocabulary ``reason`` belongs to."""
    if reason.startswith("unknown task "):
        return ReasonKind.UNKNOWN_TASK
    if reason.startswith("malformed:"):
        return ReasonKind.MALFORMED
    if reason == REJECTED_BY_TASK:
        return ReasonKind.REJECTED
    words = reason.split()
    if len(words) == 3 and words[0] == "failed" and words[1].isdigit():
        return ReasonKind.FAILED if words[2] in {"time", "times"} else ReasonKind.OTHER
    return ReasonKind.OTHER

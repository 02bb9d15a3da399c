"""The bounds of the ``delay`` and ``timeout`` labels, checked when sent and when received.

Both labels are seconds, as a number or a numeric string (labels may cross
headers or come from another language). Out of bounds, a value reaches code
that cannot take it: ``msg.nak(delay=1e300)`` raises ``OverflowError`` inside
nats-py, ``loop.call_later(nan)`` corrupts the event loop's timer heap. So:

- **Sending** (`check_time_labels`, called by ``kiq`` and by the brokers'
  ``kick``): ``delay`` must be a number in ``0..MAX_DELAY`` and ``timeout`` a
  number in ``(0, MAX_TIMEOUT]``; booleans, text that is not a number, NaN,
  infinities, negative values (and a zero timeout) raise `SendTaskError`
  naming the label, so nothing absurd is ever sent by this package.
- **Receiving** (`received_delay`, `received_timeout`): a message written by
  another client, or forged, is never trusted to be in bounds. An unreadable
  or negative value is ignored and a value past the bound is capped, each
  with a WARNING naming the task; the worker goes on either way.

Ten years is far beyond any sensible delay or run time and far inside what
every event loop and driver accepts (nanoseconds of ten years fit in 63 bits).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from taskiq.exceptions import SendTaskError

logger = logging.getLogger("taskiq.labels")

#: The longest ``delay`` label accepted, in seconds: ten years of 365 days.
MAX_DELAY = 10 * 365 * 24 * 3600.0
#: The longest ``timeout`` label accepted, in seconds: ten years of 365 days.
MAX_TIMEOUT = MAX_DELAY

_DELAY_BOUNDS = f"from 0 to {MAX_DELAY:.0f} (ten years)"
_TIMEOUT_BOUNDS = f"above 0 and at most {MAX_TIMEOUT:.0f} (ten years)"


def _seconds(value: Any) -> float | None:
    """``value`` as a float, or None when it is not a number (booleans are not)."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _refuse(name: str, value: Any, bounds: str) -> SendTaskError:
    return SendTaskError(
        f"Label {name!r} is {value!r}; it must be a number of seconds {bounds}. "
        "Fix the label (use a scheduler for anything further away).",
        reason=name,
    )


def check_time_labels(labels: Mapping[str, Any]) -> None:
    """Raise `SendTaskError` if ``delay`` or ``timeout`` is out of bounds (see module doc)."""
    delay = labels.get("delay")
    if delay is not None and delay != "":
        seconds = _seconds(delay)
        if seconds is None or not 0 <= seconds <= MAX_DELAY:
            raise _refuse("delay", delay, _DELAY_BOUNDS)
    timeout = labels.get("timeout")
    if timeout is not None and timeout != "":
        seconds = _seconds(timeout)
        if seconds is None or not 0 < seconds <= MAX_TIMEOUT:
            raise _refuse("timeout", timeout, _TIMEOUT_BOUNDS)


def sent_delay(labels: Mapping[str, Any]) -> float:
    """The ``delay`` a broker's ``kick`` acts on: 0 if absent; `SendTaskError` if out of bounds."""
    raw = labels.get("delay")
    if raw is None or raw == "":
        return 0.0
    seconds = _seconds(raw)
    if seconds is None or not 0 <= seconds <= MAX_DELAY:
        raise _refuse("delay", raw, _DELAY_BOUNDS)
    return seconds


def received_delay(labels: Mapping[str, Any], task_name: str = "?") -> float:
    """The ``delay`` of a received message: 0 if absent or unusable, at most `MAX_DELAY`."""
    raw = labels.get("delay")
    if raw is None or raw == "":
        return 0.0
    seconds = _seconds(raw)
    if seconds is None or math.isnan(seconds) or seconds < 0:
        logger.warning("Task %s: ignoring the delay label %r; running it now.", task_name, raw)
        return 0.0
    if seconds > MAX_DELAY:
        logger.warning(
            "Task %s: the delay label %r is past the %.0f s bound; delaying it %.0f s.",
            task_name,
            raw,
            MAX_DELAY,
            MAX_DELAY,
        )
        return MAX_DELAY
    return seconds


def received_timeout(labels: Mapping[str, Any], task_name: str = "?") -> float | None:
    """The ``timeout`` of a received message: None if absent or unusable, at most `MAX_TIMEOUT`."""
    raw = labels.get("timeout")
    if raw is None or raw == "":
        return None
    seconds = _seconds(raw)
    if seconds is None or math.isnan(seconds) or seconds <= 0:
        logger.warning(
            "Task %s: ignoring the timeout label %r; running it without a timeout.",
            task_name,
            raw,
        )
        return None
    if seconds > MAX_TIMEOUT:
        logger.warning(
            "Task %s: the timeout label %r is past the %.0f s bound; using %.0f s.",
            task_name,
            raw,
            MAX_TIMEOUT,
            MAX_TIMEOUT,
        )
        return MAX_TIMEOUT
    return seconds

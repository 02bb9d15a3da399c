"""The task-control options of ``@broker.task``: unique keys, rate and concurrency limits.

They are ordinary labels, checked once when the task is declared (a bad rate
string or option fails there, not in a worker), and turned at ``kiq`` into
plain strings a worker can read: a key function runs in the caller's process,
so the callable itself never travels. Positional and keyword spellings of one
call bind to the same arguments, so they give the same key.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from taskiq.exceptions import SendTaskError

#: Labels a worker reads; ``*_key`` hold the computed key, never the callable.
UNIQUE = "unique"
UNIQUE_KEY = "unique_key"
UNIQUE_UNTIL = "unique_until"
UNIQUE_TTL = "unique_ttl"
RATE_LIMIT = "rate_limit"
CONCURRENCY = "concurrency"
LIMIT_KEY = "limit_key"
CONTROL_LABELS = frozenset({UNIQUE, UNIQUE_KEY, UNIQUE_UNTIL, UNIQUE_TTL, RATE_LIMIT, CONCURRENCY})
UNIQUE_WINDOWS = ("queued", "started", "finished")
DEFAULT_UNIQUE_TTL = 24 * 3600.0

_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")

KeyFunction = Callable[[tuple[Any, ...], dict[str, Any]], str]


@dataclass(frozen=True)
class Rate:
    """At most ``count`` starts per ``period`` seconds, spaced evenly (no burst)."""

    count: int
    period: float

    @property
    def interval(self) -> float:
        """Seconds between two starts."""
        return self.period / self.count

    def __str__(self) -> str:
        return f"{self.count}/{self.period:g}s"


def parse_rate(text: object) -> Rate:
    """``"100/s"``, ``"20/m"``, ``"1000/h"`` or ``"5/10s"`` as a `Rate`; else ValueError."""
    match = _RATE.match(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) < 1:
        raise ValueError(
            f"Bad rate_limit {text!r}: write COUNT/PERIOD with COUNT >= 1 and PERIOD one of "
            "s, m, h, d (optionally with a number, as in '5/10s'), for example '20/m'.",
        )
    count, amount, unit = int(match.group(1)), match.group(2), match.group(3)
    return Rate(count, (int(amount) if amount else 1) * _PERIODS[unit])


def has_control(labels: dict[str, Any]) -> bool:
    """Whether ``labels`` ask for unique keys or limits (so a worker must enforce them)."""
    return any(
        labels.get(name) is not None and labels.get(name) is not False for name in CONTROL_LABELS
    )


def check_declaration(task_name: str, labels: dict[str, Any]) -> None:
    """Raise `ValueError` naming the task when one of its control options is unusable."""
    try:
        _check(labels)
    except ValueError as exc:
        raise ValueError(f"Task {task_name!r}: {exc}") from None


def _check(labels: dict[str, Any]) -> None:
    if labels.get(RATE_LIMIT) is not None:
        parse_rate(labels[RATE_LIMIT])
    concurrency = labels.get(CONCURRENCY)
    if concurrency is not None and (type(concurrency) is not int or concurrency < 1):
        raise ValueError(f"concurrency must be an int >= 1, not {concurrency!r}.")
    until = labels.get(UNIQUE_UNTIL, "finished")
    if until not in UNIQUE_WINDOWS:
        raise ValueError(f"unique_until must be one of {UNIQUE_WINDOWS}, not {until!r}.")
    ttl = labels.get(UNIQUE_TTL)
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0):
        raise ValueError(f"unique_ttl must be a number of seconds > 0, not {ttl!r}.")
    for name in (UNIQUE_KEY, LIMIT_KEY):
        value = labels.get(name)
        if value is not None and not callable(value) and not isinstance(value, str):
            raise ValueError(f"{name} must be a function (args, kwargs) -> str, not {value!r}.")


def resolve_labels(
    task_name: str,
    labels: dict[str, Any],
    signature: inspect.Signature | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    unique: bool = True,
) -> dict[str, Any]:
    """``labels`` with computed ``unique_key``/``limit_key`` strings; SendTaskError if a key fails.

    ``unique=False`` (``kicker().with_unique(False)``) drops the unique options.
    """
    wants_unique = unique and (labels.get(UNIQUE) or labels.get(UNIQUE_KEY) is not None)
    wants_limit = labels.get(RATE_LIMIT) is not None or labels.get(CONCURRENCY) is not None
    if not wants_unique and not wants_limit and not _has_callable(labels):
        return labels
    resolved = {k: v for k, v in labels.items() if k not in (UNIQUE, UNIQUE_KEY, LIMIT_KEY)}
    bound = _bind(signature, args, kwargs)
    if wants_unique:
        resolved[UNIQUE_KEY] = _key(task_name, UNIQUE_KEY, labels.get(UNIQUE_KEY), bound)
    if wants_limit and labels.get(LIMIT_KEY) is not None:
        resolved[LIMIT_KEY] = _key(task_name, LIMIT_KEY, labels[LIMIT_KEY], bound)
    return resolved


def _has_callable(labels: dict[str, Any]) -> bool:
    return any(callable(labels.get(name)) for name in (UNIQUE_KEY, LIMIT_KEY))


def _bind(
    signature: inspect.Signature | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """One spelling per call: parameters that can be positional become positional."""
    if signature is None:
        return args, kwargs
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return args, kwargs  # kiq reports the mismatch itself
    bound.apply_defaults()
    return bound.args, bound.kwargs


def _key(
    task_name: str,
    label: str,
    function: Any,
    bound: tuple[tuple[Any, ...], dict[str, Any]],
) -> str:
    if isinstance(function, str):
        return function
    if not callable(function):  # unique=True: the whole call is the key
        text = json.dumps([list(bound[0]), bound[1]], sort_keys=True, default=repr)
        return hashlib.sha256(text.encode()).hexdigest()[:32]
    try:
        key = function(*bound)
    except Exception as exc:
        raise SendTaskError(
            f"The {label} function of task {task_name!r} failed ({exc!r}); nothing was sent. "
            "Make it return a string for every call of the task.",
            reason=repr(exc),
        ) from exc
    if not isinstance(key, str):
        raise SendTaskError(
            f"The {label} function of task {task_name!r} returned {key!r}, not a string; "
            "nothing was sent.",
            reason="not a string",
        )
    return key

"""Turning a driver's exceptions into taskiq's, the same way in every broker package.

Each broker package has one module where its driver's failures (redis-py,
nats-py, aiokafka, ...) become `taskiq.exceptions`, so that callers only ever
see taskiq's classes, with the driver's error chained as ``__cause__``. The
mechanics are shared: `translating` re-raises a package's failure classes as the
taskiq class the caller names, and `one_line` is how a driver error is quoted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from taskiq.exceptions import TaskiqError

#: Longest quoted error text (a table cell, a log line).
MAX_ERROR_TEXT = 500


def one_line(error: BaseException) -> str:
    """An error as ``Type: message`` on one line (just ``Type`` when it says nothing more)."""
    text = " ".join(str(error).split())
    name = type(error).__name__
    return f"{name}: {text}"[:MAX_ERROR_TEXT] if text and text != name else name


@contextmanager
def translating(
    failures: tuple[type[BaseException], ...],
    error_cls: type[TaskiqError],
    message: str | None = None,
    **details: Any,
) -> Iterator[None]:
    """Re-raise ``failures`` raised inside the block as ``error_cls``, from the original.

    ``details`` fill the error's message template; ``reason`` is the driver
    error's `one_line` unless given. With ``message``, the text is ``message``
    followed by the reason instead of the template.
    """
    try:
        yield
    except failures as exc:
        details.setdefault("reason", one_line(exc))
        text = None if message is None else f"{message} ({details['reason']})"
        raise error_cls(text, **details) from exc

"""The one place where aiokafka exceptions become taskiq exceptions.

Callers only ever see `taskiq.exceptions` (the aiokafka error chained as
``__cause__``), each saying what to do next::

    TaskiqError
    └── BrokerError
        ├── BrokerConnectionError   start-up could not reach the bootstrap servers
        ├── SendTaskError           a send was not acknowledged (nothing was enqueued)
        └── ListenError             the consumer cannot fetch
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiokafka.errors import KafkaError
from taskiq.exceptions import TaskiqError

#: Exceptions raised by aiokafka (and the socket layer under it).
KAFKA_FAILURES: tuple[type[BaseException], ...] = (KafkaError, OSError, asyncio.TimeoutError)

#: Raised (as a `BrokerError`) when the broker is used before ``startup()``.
NOT_STARTED = "the Kafka broker is not started; call `await broker.startup()` first"


@contextmanager
def kafka_errors(
    error_cls: type[TaskiqError],
    message: str | None = None,
    **details: Any,
) -> Iterator[None]:
    """Re-raise aiokafka failures inside the block as ``error_cls``.

    ``details`` fill the error's template (``reason`` comes from the aiokafka
    error unless given); with ``message`` the text is ``message`` and the reason.
    """
    try:
        yield
    except KAFKA_FAILURES as exc:
        details.setdefault("reason", describe(exc))
        text = None if message is None else f"{message} ({details['reason']})"
        raise error_cls(text, **details) from exc


def describe(exc: BaseException) -> str:
    """A one-line description of an aiokafka error."""
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text and text != name else name

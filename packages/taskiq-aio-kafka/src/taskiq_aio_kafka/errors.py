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
from contextlib import AbstractContextManager
from typing import Any

from aiokafka.errors import KafkaError
from taskiq.driver_errors import one_line, translating
from taskiq.exceptions import TaskiqError

#: Exceptions raised by aiokafka (and the socket layer under it).
KAFKA_FAILURES: tuple[type[BaseException], ...] = (KafkaError, OSError, asyncio.TimeoutError)

#: Raised (as a `BrokerError`) when the broker is used before ``startup()``.
NOT_STARTED = "the Kafka broker is not started; call `await broker.startup()` first"


def kafka_errors(
    error_cls: type[TaskiqError],
    message: str | None = None,
    **details: Any,
) -> AbstractContextManager[None]:
    """Re-raise aiokafka failures inside the block as ``error_cls`` (see `translating`)."""
    return translating(KAFKA_FAILURES, error_cls, message, **details)


#: An aiokafka error quoted on one line.
describe = one_line

"""The one place where nats-py exceptions become taskiq exceptions.

Every call into nats-py that a user can observe goes through `nats_errors`, so
callers only ever see `taskiq.exceptions` (with the nats error chained as
``__cause__``) and every message says what to do next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import nats.errors
import nats.js.errors
from taskiq.driver_errors import one_line, translating
from taskiq.exceptions import BrokerConfigError, BrokerUnreachableError, TaskiqError

#: Exceptions raised by nats-py (and the socket layer under it).
NATS_FAILURES: tuple[type[BaseException], ...] = (
    nats.errors.Error,
    OSError,
    asyncio.TimeoutError,
)

#: Raised (as a `BrokerError`/`ResultBackendError`) when used before ``startup()``.
NOT_STARTED = "The NATS connection is not open; call `await broker.startup()` first."


class ScheduleSourceError(TaskiqError):
    """The schedule store could not be read or written (taskiq has no such class yet)."""

    __template__ = "The NATS schedule source failed: {reason}"


def nats_errors(
    error_cls: type[TaskiqError],
    message: str | None = None,
    **details: Any,
) -> AbstractContextManager[None]:
    """Re-raise nats-py failures inside the block as ``error_cls`` (see `translating`)."""
    return translating(NATS_FAILURES, error_cls, message, **details)


#: A nats-py error quoted on one line (its class names what happened).
describe = one_line


@contextmanager
def streams_errors(*stream_names: str) -> Iterator[None]:
    """Creating the streams at startup: the server's refusal cannot heal, a timeout can.

    JetStream answering with an API error (an invalid or conflicting stream
    name, subjects another stream owns) is a `BrokerConfigError`; no answer
    (JetStream not enabled yet, a restarting server) a `BrokerUnreachableError`.
    """
    names = " and ".join(repr(name) for name in stream_names)
    try:
        yield
    except nats.js.errors.APIError as exc:
        raise BrokerConfigError(
            f"JetStream refused the streams {names} ({describe(exc)}). Fix the stream "
            "name or configuration (names cannot contain dots, spaces or wildcards).",
        ) from exc
    except NATS_FAILURES as exc:
        raise BrokerUnreachableError(
            f"Cannot create or open the JetStream streams {names} ({describe(exc)}); "
            "check that JetStream is enabled (-js).",
        ) from exc

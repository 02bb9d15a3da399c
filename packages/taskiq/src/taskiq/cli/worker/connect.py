"""Start the broker in a worker child, waiting for a server that is not up yet.

A broker that cannot be reached is not a reason to die: a child that exited
would only be restarted by the supervisor, printing a traceback every two
seconds. Instead the child calls ``broker.startup()`` again with the shared
`taskiq.reconnect.ReconnectBackoff` (one log line per attempt) and becomes
ready when the server answers. An error that waiting cannot heal
(`BrokerConfigError`: bad URL, unknown option, refused login, invalid name)
ends the child with `StartupConfigError`, which stops the whole worker once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from taskiq.abc.broker import AsyncBroker
from taskiq.exceptions import BrokerConfigError, BrokerConnectionError
from taskiq.reconnect import ReconnectBackoff, target_of

logger = logging.getLogger("taskiq.worker")

#: Failures of ``startup()`` that may heal by themselves: wait and try again.
TRANSIENT_STARTUP_ERRORS: tuple[type[BaseException], ...] = (
    BrokerConnectionError,
    ConnectionError,
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
)


class StartupConfigError(Exception):
    """The broker cannot start as configured; ``line`` says why in one line."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


async def start_when_reachable(
    broker: AsyncBroker,
    stop: asyncio.Event,
    start: Callable[[], Awaitable[None]] | None = None,
    log: logging.Logger = logger,
) -> bool:
    """``broker.startup()`` (or ``start()``) until it succeeds; False if ``stop`` was set first.

    Raises `StartupConfigError` for a configuration error. Anything else
    (a bug in a startup handler, say) propagates as it is.
    """
    service, address = target_of(broker)
    backoff = ReconnectBackoff(service, address, log=log)
    while not stop.is_set():
        try:
            await (start or broker.startup)()
        except BrokerConfigError as exc:
            log.debug("The broker cannot start as configured:", exc_info=exc)
            raise StartupConfigError(_one_line(exc, service, address)) from exc
        except TRANSIENT_STARTUP_ERRORS as exc:
            if not await backoff.wait(exc, stop):
                return False
            continue
        backoff.succeeded()
        return True
    return False


def _one_line(exc: BrokerConfigError, service: str, address: str) -> str:
    """The error's own text, prefixed with the broker it is about unless it names it."""
    text = str(exc)
    return text if address in text else f"Cannot start {service} at {address}: {text}"

"""The one reconnect backoff every broker and the worker use.

A service that went away (a restarting Redis, a partitioned RabbitMQ, a NATS
cluster failing over) is waited for, not crashed on: 1 s, then doubling up to
30 s, each pause drawn with "equal jitter" (between half and all of it, see
`taskiq.middlewares.backoff.retry_delay`) so that many workers that lost the
same server do not reconnect in lock-step.

Each failed attempt logs one WARNING line::

    Cannot reach Redis at redis://127.0.0.1:6390/0: connection refused; retrying in 4 s (attempt 3)

and the traceback of the failure only at DEBUG. When the service answers again,
`ReconnectBackoff.succeeded` logs one INFO line (if anything failed) and starts
the next outage from 1 s again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from errno import ECONNREFUSED

from taskiq.middlewares.backoff import retry_delay

logger = logging.getLogger("taskiq.reconnect")

#: First pause after a failure (seconds).
FIRST_DELAY = 1.0
#: Longest pause between two attempts (seconds).
MAX_DELAY = 30.0


@dataclass
class ReconnectBackoff:
    """Counts failed attempts at reaching one service and sleeps between them.

    ``service`` and ``address`` name what is being reached in every log line
    (``address`` must already be free of passwords). ``rng`` makes the jitter
    reproducible in tests.
    """

    service: str
    address: str
    first: float = FIRST_DELAY
    cap: float = MAX_DELAY
    jitter: bool = True
    rng: random.Random | None = None
    log: logging.Logger = field(default=logger)
    #: Failed attempts since the last success.
    attempt: int = 0

    def next_delay(self) -> float:
        """The pause after the current failed attempt: 1, 2, 4, ... capped, jittered."""
        return retry_delay(
            self.first,
            max(self.attempt, 1),
            exponential=True,
            cap=self.cap,
            jitter=self.jitter,
            rng=self.rng,
        )

    def failed(self, exc: BaseException) -> float:
        """Count a failed attempt, log its one line, and return the pause to take."""
        self.attempt += 1
        delay = self.next_delay()
        self.log.warning(
            "Cannot reach %s at %s: %s; retrying in %s s (attempt %d)",
            self.service,
            self.address,
            describe(exc),
            _seconds(delay),
            self.attempt,
        )
        self.log.debug("Attempt %d failed with:", self.attempt, exc_info=exc)
        return delay

    async def wait(self, exc: BaseException, stop: asyncio.Event | None = None) -> bool:
        """Count and log ``exc``, then sleep its pause; False if ``stop`` was set meanwhile."""
        delay = self.failed(exc)
        if stop is None:
            await asyncio.sleep(delay)
            return True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        return not stop.is_set()

    def succeeded(self) -> None:
        """The service answered: log the recovery once and start over from ``first``."""
        if self.attempt:
            self.log.info(
                "Reached %s at %s after %d failed attempt(s).",
                self.service,
                self.address,
                self.attempt,
            )
        self.attempt = 0


def describe(exc: BaseException) -> str:
    """The reason of a connection failure in a few words, without the traceback.

    The innermost cause is the most telling (``connection refused`` rather than
    the wrapper's long advice), so the chain is followed down to it.
    """
    seen: set[int] = set()
    cause: BaseException = exc
    while True:
        nested = cause.__cause__ or cause.__context__
        if nested is None or id(nested) in seen:
            break
        seen.add(id(cause))
        cause = nested
    if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == ECONNREFUSED:
        return "connection refused"
    text = getattr(cause, "strerror", None) or str(cause).strip()
    if not text:
        return type(cause).__name__
    return text.splitlines()[0][:200]


def _seconds(delay: float) -> str:
    """``4`` for 4.0 s, ``0.5`` for half a second: round enough to read at a glance."""
    return f"{delay:.0f}" if delay >= 1.5 else f"{delay:.1g}"


def target_of(broker: object) -> tuple[str, str]:
    """What a broker connects to, as (service, masked address), for the log lines.

    A broker says it with a ``reconnect_target`` attribute; any other broker is
    named by its class.
    """
    target = getattr(broker, "reconnect_target", None)
    if isinstance(target, tuple) and len(target) == 2:
        return str(target[0]), str(target[1])
    return type(broker).__name__, "its server"

"""Starting aiokafka clients with retries and the shared backoff.

A broker that is still starting (or a bootstrap server restarting) refuses the
first connections; each client start is retried ``attempts`` times with the
doubling, jittered backoff of `taskiq.middlewares.backoff.retry_delay`, then
start-up fails with one `BrokerConnectionError` naming the servers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from taskiq.exceptions import BrokerConnectionError
from taskiq.middlewares.backoff import retry_delay

from taskiq_aio_kafka.errors import KAFKA_FAILURES, describe

logger = logging.getLogger("taskiq_aio_kafka")

#: Attempts per client before start-up gives up.
DEFAULT_CONNECT_ATTEMPTS = 5
#: First pause between attempts (it doubles, up to `MAX_PAUSE`).
FIRST_PAUSE = 0.2
MAX_PAUSE = 5.0

Servers = str | Sequence[str]


def server_text(servers: Servers) -> str:
    """The bootstrap servers as one string for messages."""
    return servers if isinstance(servers, str) else ", ".join(servers)


async def start_with_retries(
    start: Callable[[], Awaitable[None]],
    what: str,
    servers: Servers,
    attempts: int = DEFAULT_CONNECT_ATTEMPTS,
) -> None:
    """Run ``start`` until it succeeds, at most ``attempts`` times (at least once)."""
    tries = max(attempts, 1)
    for attempt in range(1, tries + 1):
        try:
            await start()
            return
        except KAFKA_FAILURES as exc:
            if attempt == tries:
                raise BrokerConnectionError(
                    service=f"Kafka ({what})",
                    address=server_text(servers),
                    reason=describe(exc),
                ) from exc
            pause = retry_delay(FIRST_PAUSE, attempt, exponential=True, cap=MAX_PAUSE, jitter=True)
            logger.warning(
                "Starting the Kafka %s failed (%s); retrying in %.1f s.", what, describe(exc), pause
            )
            await asyncio.sleep(pause)

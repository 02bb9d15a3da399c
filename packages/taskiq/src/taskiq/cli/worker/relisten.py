"""Keep a child listening when ``broker.listen()`` fails mid-run.

Brokers ride out a dropped connection inside their own ``listen()`` where
they can; when one gives up anyway (its generator raises), the child does not
die and get restarted (losing its running tasks' progress and printing a
traceback): the failed stream is closed, the shared reconnect backoff waits,
and ``listen()`` is opened again. Tasks already running carry on meanwhile.
A `BrokerConfigError` is not waited out; it propagates.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import TypeVar

from taskiq.exceptions import BrokerConfigError
from taskiq.reconnect import ReconnectBackoff

_T = TypeVar("_T")


async def relisten(
    open_stream: Callable[[], AsyncGenerator[_T, None]],
    backoff: ReconnectBackoff,
) -> AsyncGenerator[_T, None]:
    """Yield from ``open_stream()``, reopening it after a failure; end when it ends."""
    while True:
        stream = open_stream()
        try:
            async for item in stream:
                backoff.succeeded()
                yield item
            return
        except BrokerConfigError:
            raise
        except Exception as exc:  # any failure: wait, then listen again
            failure = exc
        finally:
            await stream.aclose()
        await backoff.wait(failure)

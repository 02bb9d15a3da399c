"""The one place where aio-pika/aiormq exceptions become taskiq exceptions.

Every call into the driver runs inside `amqp_errors(kind, url)`; the *kind*
says what we were doing, which decides the taskiq class a failure maps to.
Messages are scrubbed so the connection password never appears. At
connect time a refused login is a `BrokerConfigError` (the worker exits
once) and anything else a `BrokerUnreachableError` (it waits and retries).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from aio_pika import exceptions as amqp
from taskiq.exceptions import (
    BrokerConfigError,
    BrokerConnectionError,
    BrokerError,
    BrokerUnreachableError,
    ListenError,
    SendTaskError,
)

from taskiq_aio_pika.exceptions import QueueArgumentsMismatchError, TopologyError
from taskiq_aio_pika.urls import mask_url, scrub

Kind = Literal["connect", "declare", "send", "listen"]

_MISMATCH = re.compile(r"inequivalent arg '(?P<arg>[^']+)' for (?P<entity>\w+ '[^']*')")
_ENTITY = re.compile(r"(?P<entity>(queue|exchange) '[^']*')")

#: Driver failures that mean "the connection is (temporarily) gone".
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    amqp.AMQPConnectionError,
    amqp.ChannelInvalidStateError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)
#: Everything the driver raises that we convert (aiormq's classes are untyped).
DRIVER_ERRORS: tuple[type[BaseException], ...] = (amqp.AMQPError, *CONNECTION_ERRORS)


@contextmanager
def amqp_errors(kind: Kind, url: str) -> Iterator[None]:
    """Re-raise driver exceptions raised inside the block as taskiq exceptions."""
    try:
        yield
    except amqp.ChannelPreconditionFailed as exc:
        raise _precondition_error(exc, url) from exc
    except amqp.DeliveryError as exc:
        raise SendTaskError(_delivery_reason(exc), reason="not confirmed") from exc
    except amqp.ProbableAuthenticationError as exc:
        raise BrokerConfigError(
            f"RabbitMQ at {mask_url(url)}: the login was refused; check the user and "
            "password in the URL (and that the user may use its virtual host).",
        ) from exc
    except DRIVER_ERRORS as exc:
        raise _generic_error(kind, url, exc) from exc


def check_scheme(url: str) -> None:
    """Raise `BrokerConfigError` unless ``url`` is ``amqp://`` or ``amqps://``.

    aio-pika connects to ``http://host:5672`` as if it were AMQP, hiding a typo.
    """
    scheme = url.partition("://")[0].lower()
    if scheme not in ("amqp", "amqps"):
        raise BrokerConfigError(
            f"Invalid RabbitMQ URL {mask_url(url)!r}: the scheme must be amqp:// or amqps:// "
            "(amqp://user:password@host:5672/vhost).",
        )


def _reason(exc: BaseException, url: str) -> str:
    text = str(exc) or type(exc).__name__
    return scrub(f"{type(exc).__name__}: {text}", url)


def _connection_error(url: str, reason: str) -> BrokerConnectionError:
    """Unreachable: the worker waits for it with the shared backoff."""
    return BrokerUnreachableError(service="RabbitMQ", address=mask_url(url), reason=reason)


def _precondition_error(exc: BaseException, url: str) -> TopologyError:
    reason = _reason(exc, url)
    found = _MISMATCH.search(reason)
    if found:
        return QueueArgumentsMismatchError(
            entity=found["entity"].capitalize(),
            argument=found["arg"],
            reason=reason,
        )
    entity = _ENTITY.search(reason)
    return TopologyError(entity=entity["entity"] if entity else "an entity", reason=reason)


def _delivery_reason(exc: amqp.DeliveryError) -> str:
    frame = getattr(exc, "frame", None)
    reply = getattr(frame, "reply_text", None)
    if reply:
        return (
            f"RabbitMQ returned the message ({reply}): no queue is bound for its routing "
            "key or queue name. Declare the queue (or fix the label) and send again."
        )
    return "RabbitMQ did not confirm the message (nack); it was not enqueued. Send it again."


def _generic_error(kind: Kind, url: str, exc: BaseException) -> BrokerError:
    reason = _reason(exc, url)
    if kind == "connect":
        return _connection_error(url, reason)
    if kind == "send":
        return SendTaskError(f"Publishing to RabbitMQ failed: {reason}", reason=reason)
    if kind == "declare" and isinstance(exc, CONNECTION_ERRORS):
        return _connection_error(url, reason)  # lost while declaring: it may come back
    if kind == "declare":
        entity = _ENTITY.search(reason)
        return TopologyError(entity=entity["entity"] if entity else "the topology", reason=reason)
    return ListenError(reason=reason)

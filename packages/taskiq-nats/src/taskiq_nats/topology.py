"""Names of a JetStream broker's subject, stream and consumer, and their checks.

One queue, one subject: ``JetStreamBroker(url, queue="emails")`` publishes on
``taskiq_tasks.emails`` into the stream ``taskiq_jetstream_emails`` and reads
through the durable consumer ``emails``. Without that, every app would share
the subject ``taskiq_tasks``, and a work-queue stream lets only one consumer
take a subject: a second app fails with "filtered consumer not unique" while
its tasks pile up on the first app's consumer. A name given explicitly is
used as given; when explicit names do collide, start-up fails once with
`ConsumerConflictError` saying which stream and consumer and what to change.

Names are checked when the broker is built, since nats-py would only reject
them (with a bare ``ValueError``) at the first call.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo, RetentionPolicy, StreamConfig, StreamInfo
from nats.js.errors import NotFoundError
from taskiq.exceptions import BrokerConfigError

DEFAULT_SUBJECT = "taskiq_tasks"
DEFAULT_STREAM = "taskiq_jetstream"
DEFAULT_DURABLE = "taskiq_durable"
#: Characters a NATS stream or consumer name cannot hold.
_NAME_FORBIDDEN = ">*. /\\\t\r\n"


class ConsumerConflictError(BrokerConfigError):
    """Two apps' explicit settings make them compete for one subject of a stream."""


@dataclass(frozen=True)
class Topology:
    """Where one app's tasks go: the subject it publishes on, its stream and consumer."""

    subject: str
    stream_name: str
    durable: str

    @classmethod
    def build(
        cls,
        queue: str | None,
        subject: str | None,
        stream_name: str | None,
        durable: str | None,
    ) -> Topology:
        """Fill what was not given from the app's key (``queue``, else ``durable``)."""
        key = queue or durable
        if key is not None:
            check_name(key, "queue" if queue else "durable")
        topology = cls(
            subject=subject or (f"{DEFAULT_SUBJECT}.{key}" if key else DEFAULT_SUBJECT),
            stream_name=stream_name or (f"{DEFAULT_STREAM}_{key}" if key else DEFAULT_STREAM),
            durable=durable or key or DEFAULT_DURABLE,
        )
        check_name(topology.stream_name, "stream_name")
        check_name(topology.durable, "durable")
        check_subject(topology.subject)
        return topology


def check_name(name: str, what: str) -> None:
    """Raise `BrokerConfigError` unless ``name`` can name a stream or consumer."""
    bad = sorted({char for char in name if char in _NAME_FORBIDDEN})
    if not name or bad:
        shown = " ".join(repr(char) for char in bad) or "nothing"
        raise BrokerConfigError(
            f"Invalid NATS {what} {name!r}: it names a JetStream stream or consumer, which "
            f"cannot be empty or contain {shown}; use letters, digits, '-' and '_'."
        )


def check_subject(subject: str) -> None:
    """Raise `BrokerConfigError` unless tasks can be published on ``subject``."""
    tokens = subject.split(".")
    if (
        not subject
        or any(not token or token in ("*", ">") for token in tokens)
        or any(char.isspace() for char in subject)
    ):
        raise BrokerConfigError(
            f"Invalid NATS subject {subject!r}: tasks are published on it, so it needs "
            "dot-separated tokens without spaces or wildcards ('*', '>'), e.g. 'tasks.emails'."
        )


def covers(pattern: str, subject: str) -> bool:
    """True if the (possibly wildcard) ``pattern`` matches the literal ``subject``."""
    return _overlap(pattern.split("."), subject.split("."))


def overlap(first: str, second: str) -> bool:
    """True if some subject matches both filters (each may hold wildcards)."""
    return _overlap(first.split("."), second.split("."))


def _overlap(left: list[str], right: list[str]) -> bool:
    if not left or not right:
        return not left and not right
    first, second = left[0], right[0]
    if ">" in (first, second):  # one or more further tokens, and both sides have one
        return True
    if first != second and "*" not in (first, second):
        return False
    return _overlap(left[1:], right[1:])


async def ensure_stream(js: JetStreamContext, config: StreamConfig, subject: str) -> StreamInfo:
    """Create the stream, or add ``subject`` to an existing stream that does not take it.

    Several apps may name the same ``stream_name``: each then adds its own
    subject, and their consumers never overlap.
    """
    name = config.name or ""
    try:
        info = await js.stream_info(name)
    except NotFoundError:
        return await js.add_stream(config)
    subjects = list(info.config.subjects or [])
    if any(covers(pattern, subject) for pattern in subjects):
        return info
    info.config.subjects = [*subjects, subject]
    return await js.update_stream(info.config)


async def check_consumer(
    js: JetStreamContext,
    stream: StreamInfo,
    durable: str,
    subject: str,
) -> None:
    """Fail if our consumer exists for another subject, or another takes our subject.

    A work-queue stream hands each message to one consumer, so two consumers
    whose filters overlap are refused by the server ("filtered consumer not
    unique"); a consumer kept from another configuration would never see
    the tasks this broker publishes.
    """
    name = stream.config.name or ""
    consumers = await js.consumers_info(name)
    for consumer in consumers:
        filters = _filters(consumer)
        if consumer.name == durable:
            if subject not in filters:
                raise ConsumerConflictError(_stale_message(name, durable, filters, subject))
        elif stream.config.retention == RetentionPolicy.WORK_QUEUE and any(
            overlap(each, subject) for each in filters
        ):
            raise ConsumerConflictError(_taken_message(name, consumer.name, durable, subject))


def _filters(consumer: ConsumerInfo) -> list[str]:
    config = consumer.config
    found = list(config.filter_subjects or [])
    if config.filter_subject:
        found.append(config.filter_subject)
    return found or [">"]


def _taken_message(stream: str, other: str | None, durable: str, subject: str) -> str:
    return (
        f"Consumer {other!r} of the work-queue stream {stream!r} already takes subject "
        f"{subject!r}, so consumer {durable!r} cannot: each message goes to one consumer. "
        f"To share that app's tasks use durable={other!r}; to be a separate app, give it "
        "its own subject=, or leave subject= out so that its queue= names one."
    )


def _stale_message(stream: str, durable: str, filters: list[str], subject: str) -> str:
    return (
        f"Consumer {durable!r} of stream {stream!r} takes subject {', '.join(filters)!s}, "
        f"not this broker's subject {subject!r}, so it would never get these tasks. Use "
        f"another durable=, or delete it: nats consumer rm {stream} {durable}."
    )

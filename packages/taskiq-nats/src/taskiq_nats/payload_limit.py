"""NATS's per-message size limit (``max_payload``, 1 MB by default), checked before sending.

nats-py refuses an oversized publish with a bare ``MaxPayloadError`` ("maximum
payload exceeded") that names neither the size nor the limit, and which would
read like a connection failure once wrapped. Checking first lets `kick` say
how big the task is, what the server accepts and what to do about it.
"""

from __future__ import annotations

from nats.aio.client import Client
from taskiq.exceptions import SendTaskError
from taskiq.message import BrokerMessage


def check_payload_size(client: Client | None, message: BrokerMessage) -> None:
    """Raise `SendTaskError` if ``message`` is larger than the server's ``max_payload``."""
    limit = client.max_payload if client is not None else 0
    size = len(message.message)
    if limit and size > limit:
        raise SendTaskError(
            f"Task {message.task_name!r} is {size:,} bytes once serialized; the NATS server "
            f"accepts at most {limit:,} bytes per message (its max_payload). Pass smaller "
            "arguments (store large data elsewhere and send a reference), or raise "
            "max_payload in the server's configuration.",
            reason="max_payload",
            size=size,
            limit=limit,
        )

"""Messages that a broker wants settled, and the policies for settling them.

A broker whose deliveries must be confirmed yields `AckableMessage` from
`listen()` instead of plain bytes. The receiver calls `ack()` when the ack
policy says the task is safe (see `AcknowledgeType`) and `reject()` when the
message must not be delivered again (malformed, unknown task, `Context.reject`).
A broker that cannot reject leaves `reject` as None and the receiver acks instead.
A broker that keeps dead letters also sets `dead_letter`: the receiver calls it
instead of `reject`, with the reason (see `taskiq.control.dead_letter_reasons`),
so the stored dead letter says why; the broker logs the dead-lettering once.

`nack()`, when a broker provides it, hands a delivery back for prompt
redelivery (to this worker or another): the receiver calls it for deliveries it
fetched but will not finish — never started before shutdown, cancelled at
``wait_tasks_timeout``, a result that could not be stored, a manual-ack task
that returned without acking. Without it such a delivery stays unsettled and
the broker redelivers it after its own lease or visibility timeout.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

SettleCallback = Callable[[], "Awaitable[None] | None"]
#: Dead-letters a delivery, recording the reason given.
DeadLetterCallback = Callable[[str], "Awaitable[None] | None"]


class AcknowledgeType(str, enum.Enum):
    """When the receiver acknowledges a message.

    - ``when_received``: before the task runs (at-most-once).
    - ``when_executed``: after the task function returns or raises.
    - ``when_saved``: after the result is stored (the default; at-least-once).
    - ``manual``: only when the task calls ``Context.ack()``; unacked messages
      are redelivered by brokers that support redelivery.
    """

    WHEN_RECEIVED = "when_received"
    WHEN_EXECUTED = "when_executed"
    WHEN_SAVED = "when_saved"
    MANUAL = "manual"


@dataclass
class AckableMessage:
    """A delivery that must be acknowledged (and may be rejected or handed back)."""

    data: bytes | str
    ack: SettleCallback
    reject: SettleCallback | None = None
    nack: SettleCallback | None = None
    dead_letter: DeadLetterCallback | None = None

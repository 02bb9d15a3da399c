"""Push-based JetStream broker: the server pushes tasks to a queue group of workers.

Same guarantees as the pull broker (acks, heartbeats, NAK backoff, dead
letters, delay), but the server decides the pace: messages buffered in a
worker that has not started them yet still count against ``ack_wait``.
Prefer `JetStreamBroker` (pull) unless you need push delivery.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from nats.aio.msg import Msg
from taskiq.exceptions import ListenError

from taskiq_nats._errors import nats_errors
from taskiq_nats.jetstream import BaseJetStreamBroker


class PushBasedJetStreamBroker(BaseJetStreamBroker):
    """At-least-once delivery through a durable push consumer shared by a queue group.

    The queue group (and the consumer's name) is ``queue``, or ``durable`` when
    no queue is given, so every worker of the same broker shares the tasks.
    """

    def _messages(self) -> AsyncGenerator[Msg, None]:
        return self._pushed()

    async def _pushed(self) -> AsyncGenerator[Msg, None]:
        group = self.queue or self.durable
        self.durable = group
        js = self._jetstream()
        with nats_errors(ListenError):
            subscription = await js.subscribe(
                self.subject,
                queue=group,
                durable=group,
                stream=self.stream_name,
                config=self._consumer_config(),
                manual_ack=True,
            )
            self._adopt_consumer(await subscription.consumer_info())
        self._subscription = subscription
        async for msg in subscription.messages:
            yield msg

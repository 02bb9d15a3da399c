"""The depth of a JetStream queue, and purge: the NATS side of `taskiq.control.queues`.

A JetStream broker's queue is one subject of a work-queue stream, read through
one durable consumer, whose info holds the counts:

- ready: ``num_pending``, messages the consumer has not delivered yet (before
  any worker started, when there is no consumer: the subject's messages);
- in flight: ``num_ack_pending``, delivered and not acknowledged. This includes
  delayed tasks a worker has already received and handed back until they are
  due (JetStream keeps them unacknowledged), and tasks waiting out a nack's backoff;
- delayed: None: a delayed task is an ordinary message with a not-before header,
  counted as ready until a worker first sees it;
- dead: the messages of the broker's dead-letter stream.

Purge deletes the subject's messages the consumer has not delivered (sequence
after its last delivered one), one by one; a message a worker fetches at that
very moment may escape it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError
from taskiq.control import QueueDepth, QueueInspector
from taskiq.exceptions import BrokerError

from taskiq_nats._errors import nats_errors
from taskiq_nats.dead_letters import NatsDeadLetterStore


class NatsQueueInspector(QueueInspector):
    """Depth and purge of one JetStream broker's queue (its subject and consumer)."""

    def __init__(
        self,
        jetstream: Callable[[], JetStreamContext],
        name: str,
        aliases: Sequence[str],
        stream: str,
        durable: str,
        dead_letters: NatsDeadLetterStore,
    ) -> None:
        self._jetstream = jetstream
        self.name = name
        self.aliases = {name, *aliases}
        self.stream = stream
        #: The subject is the last alias: it is what the stream is filtered on.
        self.subject = aliases[-1]
        self.durable = durable
        self.dead_letters = dead_letters

    def queue_names(self) -> Sequence[str]:
        """This broker's one queue (its ``queue``, else its subject)."""
        return [self.name]

    def _check(self, queue: str | None) -> None:
        if queue is not None and queue not in self.aliases:
            raise ValueError(
                f"No queue {queue!r} in this broker: it consumes subject {self.subject!r} "
                f"(queue {self.name!r}); use a broker for that queue.",
            )

    async def depth(self, queue: str | None = None) -> QueueDepth:
        """The consumer's pending and ack-pending counts, and the dead letters."""
        self._check(queue)
        with nats_errors(BrokerError, "Cannot read the queue's depth from JetStream"):
            consumer = await self._consumer()
            if consumer is None:
                ready, in_flight = await self._on_subject(), 0
            else:
                ready, in_flight = consumer.num_pending or 0, consumer.num_ack_pending or 0
        dead = await self.dead_letters.count()
        return QueueDepth(self.name, ready=ready, delayed=None, in_flight=in_flight, dead=dead)

    async def purge(self, queue: str | None = None) -> int:
        """Delete the messages the consumer has not delivered yet; return how many."""
        self._check(queue)
        with nats_errors(BrokerError, "Purging the queue failed part-way; check its depth"):
            consumer = await self._consumer()
            if consumer is None:
                count = await self._on_subject()
                if count:
                    await self._jetstream().purge_stream(self.stream, subject=self.subject)
                return count
            delivered = consumer.delivered.stream_seq if consumer.delivered else 0
            return await self._delete_after(delivered)

    async def _consumer(self) -> ConsumerInfo | None:
        try:
            info: ConsumerInfo = await self._jetstream().consumer_info(self.stream, self.durable)
        except NotFoundError:
            return None
        return info

    async def _on_subject(self) -> int:
        info = await self._jetstream().stream_info(self.stream, subjects_filter=self.subject)
        return int((info.state.subjects or {}).get(self.subject, 0))

    async def _delete_after(self, sequence: int) -> int:
        js, deleted = self._jetstream(), 0
        while True:
            try:
                raw = await js.get_msg(self.stream, sequence + 1, subject=self.subject, next=True)
            except NotFoundError:
                return deleted
            sequence = raw.seq or sequence + 1
            try:
                deleted += int(await js.delete_msg(self.stream, sequence))
            except NotFoundError:  # a worker took and acked it meanwhile
                continue

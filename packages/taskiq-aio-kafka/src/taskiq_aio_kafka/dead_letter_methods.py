"""The broker's dead-letter surface: the core contract, and the names it had before.

`dead_letter_store` returns the core `DeadLetterStore` (what
``taskiq.dead_letters_of(broker)`` finds). ``dead_letters``,
``replay_dead_letter``, ``replay_dead_letters`` and ``delete_dead_letters``
are the names this broker had before the contract (the Redis broker's); they
delegate to it and return the core `DeadLetter`.
"""

from __future__ import annotations

from taskiq_aio_kafka.dead_letter_topic import DeadLetterTopic
from taskiq_aio_kafka.dead_letters import DeadLetter, KafkaDeadLetterStore
from taskiq_aio_kafka.topology import Topology


class DeadLetterMethods:
    """Mixed into `AioKafkaBroker`; every call reads the dead-letter topic afresh."""

    topology: Topology
    _dead_topic: DeadLetterTopic

    def dead_letter_store(self, queue: str | None = None) -> KafkaDeadLetterStore:
        """The dead letters of every topic of the broker (None), or of its topic ``queue``."""
        if queue is not None and queue not in self.topology.topics:
            raise ValueError(
                f"No dead letters of {queue!r} here: this broker's topics are "
                f"{', '.join(map(repr, self.topology.topics))}; use a broker for that topic."
            )
        return KafkaDeadLetterStore(self._dead_topic, queue, self.topology.default_topic)

    async def dead_letters(self, count: int | None = 100) -> list[DeadLetter]:
        """The oldest ``count`` dead letters (None: all) of every topic of the broker."""
        store = self.dead_letter_store()
        if count is None:
            return await store.letters()
        if count < 1:
            return []
        return list((await store.list(limit=count)).letters)

    async def replay_dead_letter(self, dead_letter_id: str) -> bool:
        """Send one dead letter back to its topic (deliveries reset); False if absent."""
        return await self.dead_letter_store().replay([str(dead_letter_id)]) == 1

    async def replay_dead_letters(self, count: int | None = None) -> int:
        """Replay the oldest ``count`` dead letters (all when None); return how many."""
        store = self.dead_letter_store()
        if count is None:
            return await store.replay_all()
        return await store.replay([letter.id for letter in await self.dead_letters(count)])

    async def delete_dead_letters(self, *dead_letter_ids: str) -> int:
        """Forget dead letters for good; return how many existed (alias of ``delete``)."""
        return await self.dead_letter_store().delete([str(i) for i in dead_letter_ids])

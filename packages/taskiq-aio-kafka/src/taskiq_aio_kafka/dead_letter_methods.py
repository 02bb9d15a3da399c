"""The broker's public dead-letter methods: list, replay and delete.

Kept apart from the transport code in `broker`; the names and shapes are the
Redis broker's (``dead_letters``, ``replay_dead_letter``, ``replay_dead_letters``,
``delete_dead_letters``), so tools written for one work with the other.
"""

from __future__ import annotations

from taskiq.exceptions import BrokerError

from taskiq_aio_kafka.dead_letters import DeadLetter, DeadLetterStore
from taskiq_aio_kafka.errors import kafka_errors


class DeadLetterMethods:
    """Mixed into `AioKafkaBroker`; every call reads the dead-letter topic afresh."""

    dead_letter_store: DeadLetterStore

    async def dead_letters(self, count: int | None = 100) -> list[DeadLetter]:
        """The oldest ``count`` dead letters (None: all) that were not replayed or deleted."""
        with kafka_errors(BrokerError, "Cannot read the dead-letter topic"):
            return await self.dead_letter_store.list(count)

    async def replay_dead_letter(self, dead_letter_id: str) -> bool:
        """Send one dead letter back to its topic (deliveries reset); False if absent."""
        letters = {letter.id: letter for letter in await self.dead_letters(None)}
        letter = letters.get(str(dead_letter_id))
        if letter is None:
            return False
        with kafka_errors(BrokerError, "Replaying a dead letter failed; list them again"):
            await self.dead_letter_store.replay(letter)
        return True

    async def replay_dead_letters(self, count: int | None = None) -> int:
        """Replay the oldest ``count`` dead letters (all when None); return how many."""
        letters = await self.dead_letters(count)
        with kafka_errors(BrokerError, "Replaying dead letters failed part-way; list them again"):
            for letter in letters:
                await self.dead_letter_store.replay(letter)
        return len(letters)

    async def delete_dead_letters(self, *dead_letter_ids: str) -> int:
        """Forget dead letters for good; return how many existed."""
        existing = {letter.id for letter in await self.dead_letters(None)}
        chosen = [i for i in map(str, dead_letter_ids) if i in existing]
        with kafka_errors(BrokerError, "Deleting dead letters failed part-way; list them again"):
            for letter_id in chosen:
                await self.dead_letter_store.settle(letter_id)
        return len(chosen)

"""The broker's dead-letter methods: the core contract and the names it had before.

`dead_letter_store` returns the `DeadLetterStore` of one task queue;
``peek_dead_letters``, ``purge_dead_letters``, ``dead_letter_count`` and
``replay_dead_letters`` are the earlier names, kept as thin aliases.
"""

from __future__ import annotations

from aio_pika.abc import AbstractRobustConnection
from taskiq.control import DeadLetter

from taskiq_aio_pika.dead_letters import RabbitDeadLetterStore
from taskiq_aio_pika.topology import Queue


class DeadLetterMethods:
    """Mixed into `AioPikaBroker`; ``queue_name`` selects a task queue (default: main)."""

    url: str
    main_queue: Queue
    queues: dict[str, Queue]
    dead_letter_queues: dict[str, str]
    _connection: AbstractRobustConnection | None

    def dead_letter_store(self, queue: str | None = None) -> RabbitDeadLetterStore:
        """The dead letters of task queue ``queue`` (default: the main queue)."""
        task_queue = queue or self.main_queue.name
        name = self.dead_letter_queues.get(task_queue)
        if name is None:
            raise ValueError(
                f"No dead-letter queue for {task_queue!r}; known queues: {sorted(self.queues)}.",
            )
        spec = self.queues.get(task_queue)
        limit = spec.arguments.get("x-delivery-limit") if spec else None
        return RabbitDeadLetterStore(
            self._started_connection,
            self.url,
            name,
            task_queue,
            limit if isinstance(limit, int) else None,
        )

    def _started_connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise RuntimeError("AioPikaBroker is not started: await broker.startup() first.")
        return self._connection

    async def dead_letter_count(self, queue_name: str | None = None) -> int:
        """How many messages wait in the dead-letter queue of ``queue_name``."""
        return await self.dead_letter_store(queue_name).count()

    async def peek_dead_letters(
        self,
        limit: int = 100,
        queue_name: str | None = None,
    ) -> list[DeadLetter]:
        """Read up to ``limit`` dead letters (oldest first) without removing them."""
        return list((await self.dead_letter_store(queue_name).list(limit)).letters)

    async def replay_dead_letters(
        self,
        limit: int | None = None,
        queue_name: str | None = None,
    ) -> list[DeadLetter]:
        """Send dead letters back to where they died, oldest first; return what was replayed."""
        return await self.dead_letter_store(queue_name).replayed_letters(limit)

    async def purge_dead_letters(self, queue_name: str | None = None) -> int:
        """Delete every dead letter of ``queue_name``; return how many were deleted."""
        return await self.dead_letter_store(queue_name).delete_all()

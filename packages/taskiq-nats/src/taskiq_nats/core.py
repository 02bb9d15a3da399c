"""Core NATS broker: fast fire-and-forget delivery, at-most-once.

Core NATS keeps nothing: a task published while no worker is subscribed, or
held by a worker that dies, is gone. Use `JetStreamBroker` when a task must
not be lost. With ``queue`` set, workers form a queue group and each task goes
to one of them; without it every worker receives every task (broadcast).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from nats.aio.client import Client
from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.exceptions import BrokerError, ListenError, SendTaskError
from taskiq.message import BrokerMessage

from taskiq_nats import connection, headers
from taskiq_nats._errors import NOT_STARTED, nats_errors
from taskiq_nats.payload_limit import check_payload_size

logger = logging.getLogger("taskiq_nats")


class NatsBroker(AsyncBroker):
    """At-most-once delivery over core NATS subjects and queue groups."""

    def __init__(
        self,
        servers: connection.Servers,
        subject: str = "taskiq_tasks",
        queue: str | None = None,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
        connect_attempts: int = connection.DEFAULT_CONNECT_ATTEMPTS,
        **connection_kwargs: Any,
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        self.servers = servers
        self.subject = subject
        self.queue = queue
        self.connect_attempts = connect_attempts
        self.connection_kwargs = connection_kwargs
        self.client: Client | None = None

    def describe(self) -> dict[str, str]:
        """The servers (passwords masked), subject and queue group, for the worker's banner."""
        return {
            "url": connection.mask_servers(self.servers),
            "subject": self.subject,
            "queue group": self.queue or "(none: every worker gets every task)",
        }

    @property
    def reconnect_target(self) -> tuple[str, str]:
        """What the worker's reconnect log lines name: the service and its servers."""
        return "NATS", connection.mask_servers(self.servers)

    async def startup(self) -> None:
        """Connect, then start events (`BrokerUnreachableError` if no server answers)."""
        self.client = await connection.connect(
            self.servers,
            self.connect_attempts,
            **self.connection_kwargs,
        )
        await super().startup()

    async def shutdown(self) -> None:
        """Flush what was published and disconnect."""
        if self.client is not None and self.client.is_connected:
            with nats_errors(SendTaskError):
                await self.client.flush()
        await connection.close(self.client)
        await super().shutdown()

    def _client(self) -> Client:
        if self.client is None:
            raise BrokerError(NOT_STARTED)
        return self.client

    async def kick(self, message: BrokerMessage) -> None:
        """Publish the task; core NATS cannot delay it, so ``delay`` is ignored (logged)."""
        if headers.parse_delay(message.labels) > 0:
            logger.warning(
                "NatsBroker cannot delay tasks; %s runs now. Use JetStreamBroker for delays.",
                message.task_name,
            )
        check_payload_size(self.client, message)
        with nats_errors(SendTaskError):
            await self._client().publish(
                self.subject,
                message.message,
                headers={headers.TASK_ID: message.task_id, headers.TASK_NAME: message.task_name},
            )

    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield task payloads as they arrive, until the broker shuts down."""
        return self._listen()

    async def _listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        with nats_errors(ListenError):
            subscription = await self._client().subscribe(self.subject, queue=self.queue or "")
        async for msg in subscription.messages:
            yield msg.data

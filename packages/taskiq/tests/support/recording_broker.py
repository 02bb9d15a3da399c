"""A broker that keeps what it is asked to send, for tests of the sending side."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from taskiq import AckableMessage, AsyncBroker, BrokerMessage


class RecordingBroker(AsyncBroker):
    """Keeps every kicked message in ``sent``; listen() replays their bodies."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[BrokerMessage] = []

    async def kick(self, message: BrokerMessage) -> None:
        self.sent.append(message)

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        for message in self.sent:
            yield message.message

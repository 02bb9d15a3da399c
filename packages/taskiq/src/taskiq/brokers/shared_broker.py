"""Tasks declared once, in a library, and sent through whichever broker the app sets."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, TypeVar

from typing_extensions import ParamSpec

from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AckableMessage
from taskiq.decor import AsyncTaskiqDecoratedTask
from taskiq.exceptions import SharedBrokerListenError, SharedBrokerSendTaskError
from taskiq.kicker import AsyncKicker
from taskiq.message import BrokerMessage

_Params = ParamSpec("_Params")
_ReturnType = TypeVar("_ReturnType")


class SharedDecoratedTask(AsyncTaskiqDecoratedTask[_Params, _ReturnType]):
    """A shared task: its kicker uses the shared broker's default broker, if set."""

    def kicker(self) -> AsyncKicker[_Params, _ReturnType]:
        """Return a kicker bound to the default broker (or the shared one, which refuses)."""
        kicker = super().kicker()
        default = getattr(self.broker, "_default_broker", None)
        if default is not None:
            kicker.with_broker(default)
        return kicker


class AsyncSharedBroker(AsyncBroker):
    """Declares tasks that every broker can run; sends through `default_broker`."""

    def __init__(self) -> None:
        super().__init__()
        self._default_broker: AsyncBroker | None = None
        self.decorator_class = SharedDecoratedTask

    def default_broker(self, new_broker: AsyncBroker) -> None:
        """Send shared tasks through ``new_broker`` from now on."""
        self._default_broker = new_broker

    def _register(self, name: str, task: AsyncTaskiqDecoratedTask[Any, Any]) -> None:
        AsyncBroker.global_task_registry[name] = task

    async def kick(self, message: BrokerMessage) -> None:
        """Refuse: a shared task needs a real broker (see the error's advice)."""
        raise SharedBrokerSendTaskError

    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Refuse: workers listen to real brokers."""
        raise SharedBrokerListenError


async_shared_broker = AsyncSharedBroker()

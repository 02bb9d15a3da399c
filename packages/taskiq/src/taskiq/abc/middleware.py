"""Hooks around sending and executing tasks.

Every hook may be written as a plain method or as ``async def``; the broker
normalises each one once, when the middleware is added (see
`taskiq.middleware_chain`), and only calls the hooks a subclass overrides.

Order for one task: ``pre_send`` → ``post_send`` in the client, then
``pre_execute`` → [``on_error``] → ``post_execute`` → ``post_save`` in the
worker. ``pre_*`` hooks run in the order middlewares were added, ``post_*``
and ``on_error`` in reverse, so middlewares nest like context managers.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker
    from taskiq.message import TaskiqMessage
    from taskiq.result import TaskiqResult

_Hook = Union[None, Coroutine[Any, Any, None]]  # noqa: UP007
_MessageHook = Union["TaskiqMessage", Coroutine[Any, Any, "TaskiqMessage"]]


class TaskiqMiddleware:
    """Base class of middlewares; override only the hooks you need."""

    broker: AsyncBroker

    def set_broker(self, broker: AsyncBroker) -> None:
        """Called when the middleware is added to a broker."""
        self.broker = broker

    def startup(self) -> _Hook:
        """Called from ``broker.startup()``, in clients and workers alike."""
        return None

    def shutdown(self) -> _Hook:
        """Called from ``broker.shutdown()``."""
        return None

    def pre_send(self, message: TaskiqMessage) -> _MessageHook:
        """Change or inspect a message before it is formatted and sent."""
        return message

    def post_send(self, message: TaskiqMessage) -> _Hook:
        """Called after the broker accepted the message."""
        return None

    def pre_execute(self, message: TaskiqMessage) -> _MessageHook:
        """Change or inspect a message in the worker before the task runs."""
        return message

    def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> _Hook:
        """Called when the task raised; ``result.error`` holds the exception too."""
        return None

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> _Hook:
        """Called after the task finished, before its result is stored."""
        return None

    def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> _Hook:
        """Called after the result was stored in the result backend."""
        return None

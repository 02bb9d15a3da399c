"""Runs middleware hooks in nested order, each hook normalised once.

Taskiq lets a hook be a plain method or a coroutine function (or a plain
method that returns a coroutine). Rather than guessing on every call, the
chain inspects each middleware when it is added, keeps only the hooks its
class overrides, and wraps each as an ``async`` callable.

``pre_*`` hooks run in the order middlewares were added; ``post_*`` hooks and
``on_error`` run in reverse, so the first middleware added wraps all others.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from taskiq.abc.middleware import TaskiqMiddleware

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.message import TaskiqMessage
    from taskiq.result import TaskiqResult

logger = logging.getLogger("taskiq.middlewares")

AsyncHook = Callable[..., Awaitable[Any]]
HOOK_NAMES = (
    "startup",
    "shutdown",
    "pre_send",
    "post_send",
    "pre_execute",
    "on_error",
    "post_execute",
    "post_save",
)
_REVERSED = frozenset({"shutdown", "post_send", "on_error", "post_execute", "post_save"})


def as_async(func: Callable[..., Any]) -> AsyncHook:
    """Wrap a sync-or-async callable so that it can always be awaited."""
    if inspect.iscoroutinefunction(func):
        return func

    async def call(*args: Any) -> Any:
        result = func(*args)
        if inspect.isawaitable(result):
            return await result
        return result

    return call


def _overrides(middleware: TaskiqMiddleware, hook: str) -> bool:
    return getattr(type(middleware), hook) is not getattr(TaskiqMiddleware, hook)


class MiddlewareChain:
    """The middlewares of one broker, with their overridden hooks pre-resolved."""

    def __init__(self) -> None:
        self.middlewares: list[TaskiqMiddleware] = []
        self._hooks: dict[str, list[tuple[TaskiqMiddleware, AsyncHook]]] = {
            name: [] for name in HOOK_NAMES
        }
        self._active: set[str] = set()  # hooks some middleware overrides

    def add(self, middleware: TaskiqMiddleware) -> None:
        """Append a middleware; its overridden hooks become callable through the chain."""
        self.middlewares.append(middleware)
        for name in HOOK_NAMES:
            if _overrides(middleware, name):
                hook = (middleware, as_async(getattr(middleware, name)))
                self._active.add(name)
                if name in _REVERSED:
                    self._hooks[name].insert(0, hook)
                else:
                    self._hooks[name].append(hook)

    def has(self, hook: str) -> bool:
        """Tell whether any middleware overrides ``hook`` (lets hot paths skip work)."""
        return hook in self._active

    async def startup(self) -> None:
        """Start every middleware, in order; a failure here is fatal and propagates."""
        for _, hook in self._hooks["startup"]:
            await hook()

    async def shutdown(self) -> None:
        """Stop every middleware in reverse order; failures are logged, not raised."""
        for middleware, hook in self._hooks["shutdown"]:
            await self._isolated(middleware, "shutdown", hook)

    async def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        """Pass the message through every ``pre_send``; errors propagate to the caller."""
        for _, hook in self._hooks["pre_send"]:
            message = await hook(message)
        return message

    async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        """Pass the message through every ``pre_execute``; errors propagate."""
        for _, hook in self._hooks["pre_execute"]:
            message = await hook(message)
        return message

    async def post_send(self, message: TaskiqMessage) -> None:
        """Notify middlewares that the message was sent; failures are logged."""
        for middleware, hook in self._hooks["post_send"]:
            await self._isolated(middleware, "post_send", hook, message)

    async def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> None:
        """Notify middlewares that the task failed; failures are logged."""
        for middleware, hook in self._hooks["on_error"]:
            await self._isolated(middleware, "on_error", hook, message, result, exception)

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Notify middlewares that the task finished; failures are logged."""
        for middleware, hook in self._hooks["post_execute"]:
            await self._isolated(middleware, "post_execute", hook, message, result)

    async def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Notify middlewares that the result was stored; failures are logged."""
        for middleware, hook in self._hooks["post_save"]:
            await self._isolated(middleware, "post_save", hook, message, result)

    @staticmethod
    async def _isolated(
        middleware: TaskiqMiddleware,
        name: str,
        hook: AsyncHook,
        *args: Any,
    ) -> None:
        try:
            await hook(*args)
        except Exception:
            logger.exception(
                "Middleware %s.%s raised; the task goes on without it.",
                type(middleware).__name__,
                name,
            )

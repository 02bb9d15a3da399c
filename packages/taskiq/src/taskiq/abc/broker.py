"""The broker: a small transport interface with the task registry around it.

A concrete broker implements `kick` (send one formatted message) and `listen`
(yield deliveries), plus `startup`/`shutdown` for its connections. Everything
else here is policy shared by all brokers: the task registry and decorator,
middlewares, result backend, formatter/serializer, lifecycle events and the
dependency context the receiver injects into tasks.
"""

from __future__ import annotations

import logging
import os
import random
import sys
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

from typing_extensions import ParamSpec, Self

# AsyncResultBackend is imported at run time: the dependency injector reads the
# annotations of ``AsyncBroker.__init__`` when a task asks for ``AsyncBroker``.
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.control import task_options
from taskiq.events import TaskiqEvents
from taskiq.middleware_chain import MiddlewareChain, as_async
from taskiq.state import TaskiqState

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.formatter import TaskiqFormatter
    from taskiq.abc.middleware import TaskiqMiddleware
    from taskiq.abc.serializer import TaskiqSerializer
    from taskiq.control.cancellation import CancelOutcome
    from taskiq.control.task_states import TaskStateRecord
    from taskiq.decor import AsyncTaskiqDecoratedTask
    from taskiq.fetch_budget import FetchBudget
    from taskiq.message import BrokerMessage

_FuncParams = ParamSpec("_FuncParams")
_ReturnType = TypeVar("_ReturnType")
_T = TypeVar("_T")

EventHandler = Callable[[TaskiqState], "Awaitable[None] | None"]

logger = logging.getLogger("taskiq.broker")


#: The generator of task ids: private, so an application's ``random.seed()`` cannot
#: make two processes produce the same ids; seeded from the OS, again in every
#: forked child.
_ids = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.seed)
#: Version 4, variant RFC 4122: the bits `uuid.uuid4()` fixes.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def default_id_generator() -> str:
    """Random task ids: a version-4 UUID as 32 hex characters, like ``uuid4().hex``.

    Drawn from a seeded generator instead of ``uuid4()``, which reads ``os.urandom``
    on every call: a system call that cost a tenth of an in-process round trip
    (benchmarks/README.md). 122 random bits make collisions as unlikely either way;
    task ids name results, they are not secrets.
    """
    return "%032x" % ((_ids.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET)


def default_task_name(func: Callable[..., Any]) -> str:
    """Name a task ``module:function``, as the worker will import it.

    Like Taskiq, the function's ``__name__`` is used (not its qualified name), so
    a nested function gets the same name it would have at module level. A task
    declared in a script run as ``__main__`` is named after the script's file so
    that a worker importing that file by module name finds it.
    """
    module = func.__module__
    if module == "__main__":
        main_file = getattr(sys.modules.get("__main__"), "__file__", None)
        if main_file:
            module = os.path.splitext(os.path.basename(main_file))[0]
    return f"{module}:{getattr(func, '__name__', type(func).__name__)}"


def no_bound() -> int | None:
    """`AsyncBroker.delivery_room` when no budget bounds it: fetch as the broker likes."""
    return None


class AsyncBroker(ABC):
    """Base class of every broker.

    Subclasses implement `kick` and `listen`; they may extend `startup` and
    `shutdown` (call ``super()``) to open and close their connections.
    """

    #: True when the broker holds back a message carrying a ``delay`` label (in
    #: seconds) durably, on the server; `SmartRetryMiddleware` then delays
    #: retries through the broker instead of a timer in the worker.
    supports_delayed_delivery: ClassVar[bool] = False

    #: True in worker processes. ``taskiq worker`` sets it on the class before it
    #: imports the application, so code can read it at import time, as in Taskiq.
    is_worker_process: bool = False
    #: True in the scheduler process (``taskiq scheduler`` sets it on the class).
    is_scheduler_process: bool = False

    #: Record task states (queued, started, ... see `taskiq.control.task_states`) in
    #: the result backend, when it keeps them. Off: ``broker.with_task_states(False)``.
    record_task_states: bool = True
    #: Publish events (`taskiq.control.events`) through the result backend, when it
    #: carries them; free while nobody subscribes. Off: ``broker.with_events(False)``.
    publish_events: bool = True

    #: Tasks declared on `async_shared_broker`: every broker can run them.
    global_task_registry: ClassVar[dict[str, AsyncTaskiqDecoratedTask[Any, Any]]] = {}

    def __init__(
        self,
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
    ) -> None:
        from taskiq.decor import AsyncTaskiqDecoratedTask
        from taskiq.formatters.proxy_formatter import ProxyFormatter
        from taskiq.result_backends.dummy import DummyResultBackend
        from taskiq.serializers.json_serializer import JSONSerializer

        self.middleware_chain = MiddlewareChain()
        self.result_backend: AsyncResultBackend[Any] = result_backend or DummyResultBackend()
        self.decorator_class = AsyncTaskiqDecoratedTask
        self.serializer: TaskiqSerializer = JSONSerializer()
        self.formatter: TaskiqFormatter = ProxyFormatter(self)
        self.id_generator: Callable[[], str] = task_id_generator or default_id_generator
        self.local_task_registry: dict[str, AsyncTaskiqDecoratedTask[Any, Any]] = {}
        self.event_handlers: defaultdict[TaskiqEvents, list[Callable[[TaskiqState], Any]]]
        self.event_handlers = defaultdict(list)
        self.state = TaskiqState()
        #: Steps of `startup` already done: a retried startup (the worker retries one
        #: that failed on an unreachable server) does not run them twice.
        self._started_steps: set[str] = set()
        self.dependency_overrides: dict[Any, Any] = {}
        self.custom_dependency_context: dict[Any, Any] = {}
        #: Compatibility view of the fetch budget for brokers that implement only
        #: ``listen()`` (`taskiq.fetch_budget`): while the default `listen_with_budget`
        #: serves them, the budget's room (None: no bound). New brokers implement
        #: `listen_with_budget` and read the budget they are given instead.
        self.delivery_room: Callable[[], int | None] = no_bound

    # -- transport -------------------------------------------------------

    @abstractmethod
    async def kick(self, message: BrokerMessage) -> None:
        """Send one formatted message; raise `SendTaskError` if it was not accepted."""

    @abstractmethod
    def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield deliveries for this worker until the broker shuts down."""

    async def listen_with_budget(
        self,
        budget: FetchBudget,
    ) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield deliveries, fetching at most ``budget.room()`` at a time.

        The receiver opens the stream this way (through `taskiq.fetch_budget.listen_within`).
        This default serves brokers that implement only `listen` (every broker written for
        Taskiq): it yields from ``listen()`` and shows the room as `delivery_room` meanwhile.
        A broker that fetches in batches overrides it and makes ``listen()`` return
        ``self.listen_with_budget(UNBOUNDED)``.
        """
        self.delivery_room = budget.room
        stream = self.listen()
        try:
            async for delivery in stream:
                yield delivery
        finally:
            self.delivery_room = no_bound
            aclose = getattr(stream, "aclose", None)  # a plain async iterator has none
            if aclose is not None:
                await aclose()

    def describe(self) -> dict[str, str]:
        """Where this broker reads and writes, in a few words, for the worker's banner.

        Keys are short labels (``url``, ``queue``, ``stream``, ``exchange``,
        ...), values short strings; a ``url`` entry is shown with its password
        masked (`taskiq.urls.mask_url`). The banner always names the broker's
        class, so the default, an empty dict, still says which broker runs.
        """
        return {}

    # -- lifecycle -------------------------------------------------------

    async def startup(self) -> None:
        """Fire the startup event of this side, then start middlewares and results.

        The side is the worker when ``is_worker_process`` is set (the worker
        sets it before calling this), the client otherwise.
        """
        worker = self.is_worker_process
        event = TaskiqEvents.WORKER_STARTUP if worker else TaskiqEvents.CLIENT_STARTUP
        await self._once("events", lambda: self._fire(event))
        await self._once("middlewares", self.middleware_chain.startup)
        await self._once("results", self.result_backend.startup)

    async def _once(self, step: str, start: Callable[[], Awaitable[None]]) -> None:
        """Run one startup step unless an earlier, failed `startup` call already did."""
        if step not in self._started_steps:
            await start()
            self._started_steps.add(step)

    async def shutdown(self) -> None:
        """Fire the shutdown event of this side, then stop middlewares and results."""
        self._started_steps.clear()
        worker = self.is_worker_process
        await self._fire(TaskiqEvents.WORKER_SHUTDOWN if worker else TaskiqEvents.CLIENT_SHUTDOWN)
        await self.middleware_chain.shutdown()
        await self.result_backend.shutdown()

    async def _fire(self, event: TaskiqEvents) -> None:
        for handler in self.event_handlers[event]:
            await handler(self.state)

    # -- tasks -----------------------------------------------------------

    @overload
    def task(
        self,
        task_name: Callable[_FuncParams, _ReturnType],
        **labels: Any,
    ) -> AsyncTaskiqDecoratedTask[_FuncParams, _ReturnType]: ...

    @overload
    def task(
        self,
        task_name: str | None = None,
        **labels: Any,
    ) -> Callable[
        [Callable[_FuncParams, _ReturnType]],
        AsyncTaskiqDecoratedTask[_FuncParams, _ReturnType],
    ]: ...

    def task(
        self,
        task_name: str | Callable[..., Any] | None = None,
        **labels: Any,
    ) -> Any:
        """Declare a task: ``@broker.task``, ``@broker.task()``, ``@broker.task("name")``.

        Keyword arguments become the task's default labels (``timeout=5``,
        ``retry_on_error=True``, ...); ``task_name=`` may also be a keyword.
        """
        if callable(task_name):
            return self.register_task(task_name, **labels)

        def decorator(
            func: Callable[_FuncParams, _ReturnType],
        ) -> AsyncTaskiqDecoratedTask[_FuncParams, _ReturnType]:
            return self.register_task(func, task_name, **labels)

        return decorator

    def register_task(
        self,
        func: Callable[_FuncParams, _ReturnType],
        task_name: str | None = None,
        **labels: Any,
    ) -> AsyncTaskiqDecoratedTask[_FuncParams, _ReturnType]:
        """Register ``func`` as a task without decorator syntax and return its wrapper."""
        name = task_name or default_task_name(func)
        if task_options.has_control(labels):
            task_options.check_declaration(name, labels)
            self._ensure_task_control()
        decorated = self.decorator_class(
            broker=self,
            original_func=func,
            labels=labels,
            task_name=name,
        )
        self._register(name, decorated)
        return decorated

    def _ensure_task_control(self) -> None:
        """Add the middleware enforcing unique keys and limits, once (see task_control)."""
        from taskiq.middlewares.task_control import TaskControlMiddleware

        if not any(isinstance(m, TaskControlMiddleware) for m in self.middlewares):
            self.add_middlewares(TaskControlMiddleware())

    def _register(self, name: str, task: AsyncTaskiqDecoratedTask[Any, Any]) -> None:
        if name in self.local_task_registry:
            logger.debug("Task %r registered again; the newer function wins.", name)
        self.local_task_registry[name] = task

    def find_task(self, task_name: str) -> AsyncTaskiqDecoratedTask[Any, Any] | None:
        """Return the task registered under ``task_name`` here or on the shared broker."""
        found = self.local_task_registry.get(task_name)
        if found is None:
            found = self.global_task_registry.get(task_name)
        return found

    def get_all_tasks(self) -> dict[str, AsyncTaskiqDecoratedTask[Any, Any]]:
        """Every task this broker can run: its own and the shared ones."""
        return {**self.global_task_registry, **self.local_task_registry}

    # -- builders ----------------------------------------------------------

    @property
    def middlewares(self) -> list[TaskiqMiddleware]:
        """The middlewares in the order they were added."""
        return list(self.middleware_chain.middlewares)

    def add_middlewares(self, *middlewares: TaskiqMiddleware | type[TaskiqMiddleware]) -> None:
        """Append middlewares; each learns its broker through ``set_broker``.

        A middleware class (``with_middlewares(OpenTelemetryMiddleware)``) is
        instantiated with no arguments, as some of Taskiq's examples pass it.
        """
        from taskiq.abc.middleware import TaskiqMiddleware

        for middleware in middlewares:
            if isinstance(middleware, type) and issubclass(middleware, TaskiqMiddleware):
                middleware = middleware()
            if not isinstance(middleware, TaskiqMiddleware):
                raise TypeError(
                    f"{middleware!r} is not a TaskiqMiddleware; subclass "
                    "taskiq.TaskiqMiddleware and pass an instance.",
                )
            middleware.set_broker(self)
            self.middleware_chain.add(middleware)

    def with_middlewares(self, *middlewares: TaskiqMiddleware | type[TaskiqMiddleware]) -> Self:
        """Add middlewares and return the broker, for chained configuration."""
        self.add_middlewares(*middlewares)
        return self

    def with_result_backend(self, result_backend: AsyncResultBackend[Any]) -> Self:
        """Store results in ``result_backend``."""
        self.result_backend = result_backend
        return self

    def with_task_states(self, enabled: bool = True) -> Self:
        """Record task states (the default) or not; see `taskiq.control.task_states`."""
        self.record_task_states = enabled
        return self

    def with_events(self, enabled: bool = True) -> Self:
        """Publish events (the default) or not; see `taskiq.control.events`."""
        self.publish_events = enabled
        return self

    async def get_task_state(self, task_id: str) -> TaskStateRecord | None:
        """The state of ``task_id`` from the result backend; None for an unknown id.

        Raises `NotSupportedError` when the result backend keeps no states.
        """
        from taskiq.control.task_states import task_states_of

        return await task_states_of(self.result_backend).get_task_state(task_id)

    async def cancel(self, task_id: str) -> CancelOutcome:
        """Cancel ``task_id`` as ``task.cancel()`` does (`taskiq.control.cancellation`)."""
        from taskiq.control.cancellation import request_cancel

        return await request_cancel(self.result_backend, task_id)

    def with_serializer(self, serializer: TaskiqSerializer) -> Self:
        """Encode messages with ``serializer`` (the default formatter uses it)."""
        self.serializer = serializer
        return self

    def with_formatter(self, formatter: TaskiqFormatter) -> Self:
        """Replace the wire format of messages."""
        self.formatter = formatter
        return self

    def with_id_generator(self, task_id_generator: Callable[[], str]) -> Self:
        """Generate task ids with ``task_id_generator``."""
        self.id_generator = task_id_generator
        return self

    def with_event_handlers(
        self,
        event: TaskiqEvents,
        *handlers: Callable[[TaskiqState], Any],
    ) -> Self:
        """Run ``handlers`` (sync or async, taking the state) on ``event``."""
        for handler in handlers:
            self.add_event_handler(event, handler)
        return self

    def add_event_handler(
        self,
        event: TaskiqEvents,
        handler: Callable[[TaskiqState], Any],
    ) -> None:
        """Run ``handler`` (sync or async, taking the state) on ``event``."""
        self.event_handlers[TaskiqEvents(event)].append(as_async(handler))

    def on_event(self, *events: TaskiqEvents) -> Callable[[_T], _T]:
        """Decorator form of `add_event_handler` for one or more events."""

        def decorator(handler: _T) -> _T:
            for event in events:
                self.add_event_handler(event, handler)  # type: ignore[arg-type]
            return handler

        return decorator

    def add_dependency_context(self, new_context: dict[Any, Any]) -> None:
        """Make values injectable by type: ``{MyClient: client}`` for ``TaskiqDepends()``."""
        self.custom_dependency_context.update(new_context)

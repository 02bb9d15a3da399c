"""``TaskiqInstrumentor``: OpenTelemetry tracing for every broker, switched on in one line.

    from taskiq.instrumentation import TaskiqInstrumentor
    TaskiqInstrumentor().instrument()

After ``instrument()``, every broker created gets an `OpenTelemetryMiddleware`
(first in its chain, so its spans wrap everything the other middlewares do);
``instrument_broker(broker)`` does the same for a broker that already exists.
``uninstrument()`` stops adding it and switches off the middlewares it added.
It is also registered as the ``taskiq`` entry point of the
``opentelemetry_instrumentor`` group, for ``opentelemetry-instrument``.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Collection
from typing import Any

try:
    from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
        BaseInstrumentor,
    )
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "TaskiqInstrumentor needs OpenTelemetry: pip install 'taskiq[opentelemetry]'.",
    ) from exc

from taskiq.abc.broker import AsyncBroker
from taskiq.middlewares.opentelemetry_middleware import OpenTelemetryMiddleware


class TaskiqInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Adds `OpenTelemetryMiddleware` to brokers (a singleton, like every instrumentor)."""

    _original_init: Callable[..., None] | None = None
    _added: weakref.WeakKeyDictionary[AsyncBroker, OpenTelemetryMiddleware]

    def instrumentation_dependencies(self) -> Collection[str]:
        """The distributions this instrumentation applies to."""
        return ("taskiq >= 0.11",)

    def _instrument(self, **kwargs: Any) -> None:
        tracer_provider = kwargs.get("tracer_provider")
        original = AsyncBroker.__init__
        instrumentor = self

        @functools.wraps(original)
        def init(broker: AsyncBroker, *args: Any, **init_kwargs: Any) -> None:
            original(broker, *args, **init_kwargs)
            instrumentor.instrument_broker(broker, tracer_provider)

        TaskiqInstrumentor._original_init = original
        AsyncBroker.__init__ = init  # type: ignore[method-assign, assignment]

    def _uninstrument(self, **kwargs: Any) -> None:
        if TaskiqInstrumentor._original_init is not None:
            AsyncBroker.__init__ = TaskiqInstrumentor._original_init  # type: ignore[method-assign]
            TaskiqInstrumentor._original_init = None
        for broker in list(self._registry()):
            self.uninstrument_broker(broker)

    def _registry(self) -> weakref.WeakKeyDictionary[AsyncBroker, OpenTelemetryMiddleware]:
        if not hasattr(self, "_added"):
            self._added = weakref.WeakKeyDictionary()
        return self._added

    def instrument_broker(
        self,
        broker: AsyncBroker,
        tracer_provider: Any = None,
    ) -> AsyncBroker:
        """Trace ``broker``'s tasks; does nothing if it already has the middleware."""
        existing = self._registry().get(broker)
        if existing is not None:
            existing.enabled = True
            return broker
        if any(isinstance(m, OpenTelemetryMiddleware) for m in broker.middlewares):
            return broker
        middleware = OpenTelemetryMiddleware(tracer_provider=tracer_provider)
        broker.add_middlewares(middleware)
        self._registry()[broker] = middleware
        return broker

    def uninstrument_broker(self, broker: AsyncBroker) -> AsyncBroker:
        """Switch off the middleware ``instrument_broker`` added to ``broker``."""
        middleware = self._registry().pop(broker, None)
        if middleware is not None:
            middleware.enabled = False
        return broker

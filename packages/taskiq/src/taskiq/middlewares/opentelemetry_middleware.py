"""OpenTelemetry tracing from ``kiq`` to execution, across processes.

In the client, ``pre_send`` opens a PRODUCER span ``send <task name>`` (a child
of whatever span is current) and writes its context into the message labels
with the configured propagator (W3C ``traceparent``/``tracestate`` by default);
``post_send`` ends it. In the worker, ``pre_execute`` reads that context back
and opens a CONSUMER span ``execute <task name>`` as its child, made current
while the task runs, so spans the task opens nest under it; ``on_error``
records the exception and an ERROR status; ``post_execute`` ends the span.

Needs the ``opentelemetry`` extra: ``pip install 'taskiq[opentelemetry]'``.
Prefer `taskiq.instrumentation.TaskiqInstrumentor` to add it to every broker.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "OpenTelemetryMiddleware needs OpenTelemetry: pip install 'taskiq[opentelemetry]'.",
    ) from exc

from taskiq.abc.middleware import TaskiqMiddleware
from taskiq.message import TaskiqMessage
from taskiq.result import TaskiqResult

logger = logging.getLogger("taskiq.middlewares.opentelemetry")

#: Spans kept open between two hooks; beyond this many (sends that never
#: completed), the oldest are ended and forgotten rather than leaked.
MAX_OPEN_SPANS = 10_000

#: Labels copied onto spans as ``taskiq.<label>`` attributes when present.
TRACED_LABELS = ("_retries", "delay", "max_retries", "retry_on_error", "timeout", "priority")


class _OpenSpans:
    """Spans waiting for their closing hook, by task id, bounded."""

    def __init__(self) -> None:
        self._spans: OrderedDict[str, tuple[Span, object | None]] = OrderedDict()

    def add(self, task_id: str, span: Span, token: object | None = None) -> None:
        self._spans[task_id] = (span, token)
        while len(self._spans) > MAX_OPEN_SPANS:
            _, (stale, _) = self._spans.popitem(last=False)
            stale.end()

    def get(self, task_id: str) -> Span | None:
        entry = self._spans.get(task_id)
        return None if entry is None else entry[0]

    def pop(self, task_id: str) -> tuple[Span, object | None] | None:
        return self._spans.pop(task_id, None)


class OpenTelemetryMiddleware(TaskiqMiddleware):
    """Trace task sends and executions, linked by context carried in labels.

    Pass ``tracer_provider`` (or a ready ``tracer``) to use something other
    than the global provider. ``meter_provider``/``meter`` are accepted for
    compatibility with Taskiq and not used: metrics come from
    `taskiq.middlewares.PrometheusMiddleware`. Set ``enabled = False`` to make
    every hook a no-op (what ``TaskiqInstrumentor().uninstrument()`` does).
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: Any = None,
        tracer: trace.Tracer | None = None,
        meter: Any = None,
    ) -> None:
        from taskiq import __version__

        self.tracer = tracer or trace.get_tracer("taskiq", __version__, tracer_provider)
        self.enabled = True
        self._sending = _OpenSpans()
        self._running = _OpenSpans()

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        """Open the producer span and put its context into the labels."""
        if not self.enabled:
            return message
        span = self.tracer.start_span(
            f"send {message.task_name}",
            kind=SpanKind.PRODUCER,
            attributes=_attributes(message, "publish"),
        )
        propagate.inject(message.labels, context=trace.set_span_in_context(span))
        self._sending.add(message.task_id, span)
        return message

    def post_send(self, message: TaskiqMessage) -> None:
        """End the producer span: the broker accepted the message."""
        entry = self._sending.pop(message.task_id)
        if entry is not None:
            entry[0].end()

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        """Open the consumer span as a child of the sender's context, and make it current."""
        if not self.enabled:
            return message
        parent = propagate.extract(message.labels)
        span = self.tracer.start_span(
            f"execute {message.task_name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=_attributes(message, "process"),
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        self._running.add(message.task_id, span, token)
        return message

    def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> None:
        """Record the task's exception on its span and mark the span failed."""
        span = self._running.get(message.task_id)
        if span is None:
            return
        span.record_exception(exception)
        span.set_status(Status(StatusCode.ERROR, f"{type(exception).__name__}: {exception}"))

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """End the consumer span and restore the context that was current before."""
        entry = self._running.pop(message.task_id)
        if entry is None:
            return
        span, token = entry
        span.set_attribute("taskiq.execution_time", result.execution_time)
        span.end()
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]


def _attributes(message: TaskiqMessage, operation: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": "taskiq",
        "messaging.operation": operation,
        "messaging.message.id": message.task_id,
        "taskiq.task_name": message.task_name,
    }
    for label in TRACED_LABELS:
        value = message.labels.get(label)
        if value is not None:
            attributes[f"taskiq.{label}"] = str(value)
    return attributes

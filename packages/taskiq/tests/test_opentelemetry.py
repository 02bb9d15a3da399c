"""Trace context from kiq to execution, checked with the SDK's in-memory exporter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from taskiq import (
    InMemoryBroker,
    SimpleRetryMiddleware,
    TaskiqMessage,
    TaskiqMiddleware,
    TaskiqResult,
)
from taskiq.instrumentation import TaskiqInstrumentor
from taskiq.middlewares.opentelemetry_middleware import OpenTelemetryMiddleware

TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def spans_named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith(prefix)]


async def test_worker_span_is_a_child_of_the_kiq_span_in_the_same_trace(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    broker = InMemoryBroker().with_middlewares(OpenTelemetryMiddleware(tracer_provider=provider))

    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b

    await broker.startup()
    with provider.get_tracer("test").start_as_current_span("web request") as request:
        task = await add.kiq(1, 2)
    result = await task.wait_result(timeout=20)
    await broker.shutdown()

    assert result.return_value == 3
    [send] = spans_named(exporter, "send ")
    [execute] = spans_named(exporter, "execute ")
    assert send.kind is SpanKind.PRODUCER
    assert execute.kind is SpanKind.CONSUMER
    request_context = request.get_span_context()
    assert send.context is not None
    assert execute.context is not None
    assert send.parent is not None
    assert send.parent.span_id == request_context.span_id
    assert send.context.trace_id == execute.context.trace_id == request_context.trace_id
    assert execute.parent is not None
    assert execute.parent.span_id == send.context.span_id
    assert execute.attributes is not None
    assert execute.attributes["messaging.message.id"] == task.task_id
    assert execute.attributes["taskiq.task_name"] == add.task_name


async def test_labels_carry_a_w3c_traceparent(provider: TracerProvider) -> None:
    seen: list[dict[str, object]] = []

    class SeeLabels(TaskiqMiddleware):
        def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
            seen.append(dict(message.labels))
            return message

    broker = InMemoryBroker().with_middlewares(
        OpenTelemetryMiddleware(tracer_provider=provider),
        SeeLabels(),
    )

    @broker.task
    async def noop() -> None: ...

    await broker.startup()
    await (await noop.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert TRACEPARENT.match(str(seen[0]["traceparent"]))


async def test_spans_opened_inside_the_task_nest_under_the_execute_span(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    broker = InMemoryBroker().with_middlewares(OpenTelemetryMiddleware(tracer_provider=provider))
    tracer = provider.get_tracer("inside")

    @broker.task
    async def work() -> None:
        with tracer.start_as_current_span("query database"):
            pass

    await broker.startup()
    await (await work.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    [execute] = spans_named(exporter, "execute ")
    [inner] = spans_named(exporter, "query database")
    assert inner.parent is not None
    assert execute.context is not None
    assert inner.parent.span_id == execute.context.span_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # the worker's context was restored


async def test_failed_task_span_records_the_exception_and_error_status(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    broker = InMemoryBroker().with_middlewares(OpenTelemetryMiddleware(tracer_provider=provider))

    @broker.task
    async def fails() -> None:
        raise ValueError("bad input")

    await broker.startup()
    await (await fails.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    [execute] = spans_named(exporter, "execute ")
    assert execute.status.status_code is StatusCode.ERROR
    assert execute.status.description == "ValueError: bad input"
    [event] = [event for event in execute.events if event.name == "exception"]
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "ValueError"


async def test_retries_stay_in_the_original_trace(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    broker = InMemoryBroker().with_middlewares(
        OpenTelemetryMiddleware(tracer_provider=provider),
        SimpleRetryMiddleware(),
    )

    @broker.task(retry_on_error=True, max_retries=2)
    async def fails() -> None:
        raise ConnectionError

    await broker.startup()
    await (await fails.kiq()).wait_result(timeout=20)
    await broker.wait_all()
    await broker.shutdown()
    executes = spans_named(exporter, "execute ")
    assert len(executes) == 2
    assert len({span.context.trace_id for span in executes if span.context}) == 1
    assert executes[1].attributes is not None
    assert executes[1].attributes["taskiq._retries"] == "1"


async def test_message_without_trace_context_starts_a_new_trace(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    middleware = OpenTelemetryMiddleware(tracer_provider=provider)
    message = TaskiqMessage(task_id="plain", task_name="from_another_language")
    middleware.pre_execute(message)
    middleware.post_execute(message, _ok_result())
    [execute] = exporter.get_finished_spans()
    assert execute.parent is None


def _ok_result() -> TaskiqResult[None]:
    return TaskiqResult(is_err=False, return_value=None, execution_time=0.0)


# -- instrumentor ---------------------------------------------------------------


@pytest.fixture
def instrumentor() -> Iterator[TaskiqInstrumentor]:
    instrumentor = TaskiqInstrumentor()
    yield instrumentor
    instrumentor.uninstrument()


def otel_middlewares(broker: InMemoryBroker) -> list[OpenTelemetryMiddleware]:
    return [m for m in broker.middlewares if isinstance(m, OpenTelemetryMiddleware)]


async def test_instrument_traces_brokers_created_afterwards_and_uninstrument_undoes_it(
    instrumentor: TaskiqInstrumentor,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    before = InMemoryBroker()
    instrumentor.instrument(tracer_provider=provider)
    broker = InMemoryBroker()
    assert otel_middlewares(before) == []
    assert len(otel_middlewares(broker)) == 1

    @broker.task
    async def noop() -> None: ...

    await broker.startup()
    await (await noop.kiq()).wait_result(timeout=20)
    assert len(spans_named(exporter, "execute ")) == 1

    instrumentor.uninstrument()
    await (await noop.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert len(spans_named(exporter, "execute ")) == 1  # switched off on the old broker
    assert otel_middlewares(InMemoryBroker()) == []  # and not added to new ones


async def test_instrument_broker_adds_the_middleware_once_and_can_be_undone(
    instrumentor: TaskiqInstrumentor,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    broker = InMemoryBroker()
    instrumentor.instrument_broker(broker, tracer_provider=provider)
    instrumentor.instrument_broker(broker, tracer_provider=provider)
    assert len(otel_middlewares(broker)) == 1

    @broker.task
    async def noop() -> None: ...

    await broker.startup()
    await (await noop.kiq()).wait_result(timeout=20)
    instrumentor.uninstrument_broker(broker)
    await (await noop.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    assert len(spans_named(exporter, "execute ")) == 1


def test_registered_as_an_opentelemetry_instrumentor_entry_point() -> None:
    [entry] = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "taskiq"]
    assert entry.load() is TaskiqInstrumentor

"""The import paths Taskiq's documentation shows for middlewares and ZeroMQ all work."""

from __future__ import annotations

import importlib

import pytest
from taskiq.brokers.zmq_broker import ZeroMQBroker
from taskiq.middlewares.prometheus_middleware import PrometheusMiddleware
from taskiq.middlewares.simple_retry_middleware import SimpleRetryMiddleware
from taskiq.middlewares.smart_retry_middleware import SmartRetryMiddleware

DOCUMENTED = [
    ("taskiq", "SimpleRetryMiddleware", SimpleRetryMiddleware),
    ("taskiq", "SmartRetryMiddleware", SmartRetryMiddleware),
    ("taskiq", "PrometheusMiddleware", PrometheusMiddleware),
    ("taskiq", "ZeroMQBroker", ZeroMQBroker),
    ("taskiq.middlewares", "SimpleRetryMiddleware", SimpleRetryMiddleware),
    ("taskiq.middlewares", "SmartRetryMiddleware", SmartRetryMiddleware),
    ("taskiq.middlewares", "PrometheusMiddleware", PrometheusMiddleware),
    ("taskiq.middlewares.retry_middleware", "SimpleRetryMiddleware", SimpleRetryMiddleware),
]


@pytest.mark.parametrize(("module", "name", "expected"), DOCUMENTED)
def test_documented_import_path(module: str, name: str, expected: type) -> None:
    assert getattr(importlib.import_module(module), name) is expected


def test_opentelemetry_paths() -> None:
    middleware = importlib.import_module("taskiq.middlewares.opentelemetry_middleware")
    instrumentation = importlib.import_module("taskiq.instrumentation")
    assert middleware.OpenTelemetryMiddleware.__name__ == "OpenTelemetryMiddleware"
    assert instrumentation.TaskiqInstrumentor.__name__ == "TaskiqInstrumentor"


def test_public_names_are_in_all() -> None:
    import taskiq
    import taskiq.middlewares

    for name in ("SimpleRetryMiddleware", "SmartRetryMiddleware", "PrometheusMiddleware"):
        assert name in taskiq.__all__
        assert name in taskiq.middlewares.__all__
    assert "ZeroMQBroker" in taskiq.__all__

"""Built-in middlewares: retries, Prometheus metrics and (by its own module) OpenTelemetry.

``taskiq.middlewares.opentelemetry_middleware.OpenTelemetryMiddleware`` is not
imported here, so that ``taskiq.middlewares`` works without the
``opentelemetry`` extra; likewise `PrometheusMiddleware` imports
``prometheus_client`` only when instantiated.
"""

from taskiq.middlewares.prometheus_middleware import PrometheusMiddleware
from taskiq.middlewares.simple_retry_middleware import SimpleRetryMiddleware
from taskiq.middlewares.smart_retry_middleware import SmartRetryMiddleware

__all__ = ["PrometheusMiddleware", "SimpleRetryMiddleware", "SmartRetryMiddleware"]

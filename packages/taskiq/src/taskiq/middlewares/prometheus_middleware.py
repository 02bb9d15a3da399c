"""Prometheus metrics for workers, served over HTTP by the worker itself.

Metrics (``task_name`` label on each; names as in Taskiq, so dashboards carry over):

- ``received_tasks_total``, ``success_tasks_total``, ``found_errors_total``,
  ``saved_results_total`` (counters);
- ``task_errors_by_type_total`` (counter, also labelled ``error_type``);
- ``execution_time`` (histogram, seconds the task function ran);
- ``in_flight_tasks`` (gauge, tasks running now);
- ``queue_wait_seconds`` (histogram, from ``kiq`` to the start of execution;
  needs this middleware in the client too, which stamps the send time).

One process: each middleware has its own `CollectorRegistry`, served on
``server_addr:server_port`` once the worker starts. Several worker processes
(``taskiq worker --workers N``): pass ``metrics_path`` (or set
``PROMETHEUS_MULTIPROC_DIR``) *before* anything imports ``prometheus_client``;
every process then writes its samples to files there and whichever process
binds the port serves the sum of all of them.
"""

from __future__ import annotations

import datetime
import logging
import os
from pathlib import Path
from typing import Any

from taskiq.abc.middleware import TaskiqMiddleware
from taskiq.message import TaskiqMessage
from taskiq.result import TaskiqResult

logger = logging.getLogger("taskiq.middlewares.prometheus")

#: Label holding the UTC send time (ISO 8601) stamped by ``pre_send``.
ENQUEUE_TIME_LABEL = "_taskiq_enqueue_timestamp"

_MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_MULTIPROC_HINT = (
    " This process's metrics are NOT served: pass metrics_path (a directory) so the "
    "serving process reports every worker process."
)


def _import_prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "PrometheusMiddleware needs prometheus_client: pip install 'taskiq[metrics]'.",
        ) from exc
    return prometheus_client


class _Metrics:
    """The metric objects of one middleware, registered in ``registry``."""

    def __init__(self, prometheus: Any, registry: Any) -> None:
        by_task = ["task_name"]
        self.received = prometheus.Counter(
            "received_tasks", "Tasks a worker started", by_task, registry=registry
        )
        self.success = prometheus.Counter(
            "success_tasks", "Tasks that returned without error", by_task, registry=registry
        )
        self.failed = prometheus.Counter(
            "found_errors", "Tasks that raised", by_task, registry=registry
        )
        self.saved = prometheus.Counter(
            "saved_results", "Results stored in the result backend", by_task, registry=registry
        )
        self.errors_by_type = prometheus.Counter(
            "task_errors_by_type",
            "Task errors by exception type",
            ["task_name", "error_type"],
            registry=registry,
        )
        self.execution_time = prometheus.Histogram(
            "execution_time", "Seconds the task function ran", by_task, registry=registry
        )
        self.in_flight = prometheus.Gauge(
            "in_flight_tasks",
            "Tasks running now",
            by_task,
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.queue_wait = prometheus.Histogram(
            "queue_wait_seconds",
            "Seconds from kiq to the start of execution",
            by_task,
            registry=registry,
        )


class PrometheusMiddleware(TaskiqMiddleware):
    """Count, time and expose tasks; the HTTP exporter runs only in workers.

    If the port is taken (another worker process of a multi-process worker
    already serves it) the failure is logged and this process only records.
    """

    def __init__(
        self,
        metrics_path: Path | str | None = None,
        server_addr: str = "0.0.0.0",
        server_port: int = 9000,
    ) -> None:
        if metrics_path is not None:
            Path(metrics_path).mkdir(parents=True, exist_ok=True)
            os.environ[_MULTIPROC_ENV] = str(metrics_path)
        self.metrics_path = os.environ.get(_MULTIPROC_ENV)
        self.server_addr = server_addr
        self.server_port = server_port
        self._prometheus = _import_prometheus()
        self.registry = self._prometheus.CollectorRegistry()
        self.metrics = _Metrics(self._prometheus, self.registry)
        self._server: Any = None

    def _exposed_registry(self) -> Any:
        if self.metrics_path is None:
            return self.registry
        from prometheus_client import multiprocess

        registry = self._prometheus.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.metrics_path)  # type: ignore[no-untyped-call]
        return registry

    def startup(self) -> None:
        """Serve ``/metrics`` on ``server_addr:server_port`` in worker processes."""
        if not self.broker.is_worker_process:
            return
        try:
            server, _ = self._prometheus.start_http_server(
                self.server_port,
                addr=self.server_addr,
                registry=self._exposed_registry(),
            )
        except OSError as exc:
            logger.warning(
                "Prometheus exporter not started on %s:%s (%s); another worker process "
                "probably serves it. Use another server_port if not.%s",
                self.server_addr,
                self.server_port,
                exc,
                _MULTIPROC_HINT if self.metrics_path is None else "",
            )
            return
        self._server = server
        logger.info("Prometheus metrics on http://%s:%s/", self.server_addr, self.server_port)

    def shutdown(self) -> None:
        """Stop the exporter; in multi-process mode, drop this process's live gauges."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.metrics_path is not None and self.broker.is_worker_process:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), self.metrics_path)  # type: ignore[no-untyped-call]

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        """Stamp the send time (every send, so a retry measures its own wait)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        message.labels[ENQUEUE_TIME_LABEL] = now.isoformat()
        return message

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        """Count the task as received and in flight; record its queue wait."""
        wait = _seconds_since(message.labels.get(ENQUEUE_TIME_LABEL))
        if wait is not None:
            self.metrics.queue_wait.labels(message.task_name).observe(wait)
        self.metrics.received.labels(message.task_name).inc()
        self.metrics.in_flight.labels(message.task_name).inc()
        return message

    def on_error(
        self,
        message: TaskiqMessage,
        result: TaskiqResult[Any],
        exception: BaseException,
    ) -> None:
        """Count the error by its exception type."""
        self.metrics.errors_by_type.labels(message.task_name, type(exception).__name__).inc()

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Count success or failure, record the run time, leave the in-flight set."""
        counter = self.metrics.failed if result.is_err else self.metrics.success
        counter.labels(message.task_name).inc()
        self.metrics.execution_time.labels(message.task_name).observe(result.execution_time)
        self.metrics.in_flight.labels(message.task_name).dec()

    def post_save(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Count the stored result."""
        self.metrics.saved.labels(message.task_name).inc()


def _seconds_since(stamp: Any) -> float | None:
    """Seconds since an ISO 8601 stamp (naive = UTC), never negative; None if unreadable."""
    if not isinstance(stamp, str):
        return None
    try:
        sent = datetime.datetime.fromisoformat(stamp)
    except ValueError:
        logger.debug("Ignoring unreadable %s label %r.", ENQUEUE_TIME_LABEL, stamp)
        return None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=datetime.timezone.utc)
    elapsed = datetime.datetime.now(datetime.timezone.utc) - sent
    return max(elapsed.total_seconds(), 0.0)

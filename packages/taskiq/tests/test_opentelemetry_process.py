"""Trace context crosses a real process boundary: client kiq → ZeroMQ → worker process."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import textwrap
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from taskiq import ZeroMQBroker
from taskiq.middlewares.opentelemetry_middleware import OpenTelemetryMiddleware

WORKER = textwrap.dedent(
    """
    import asyncio
    import json
    import sys
    from pathlib import Path

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    from taskiq import ZeroMQBroker
    from taskiq.middlewares.opentelemetry_middleware import OpenTelemetryMiddleware
    from taskiq.receiver import Receiver

    address, spans_file = sys.argv[1], Path(sys.argv[2])


    class FileExporter(SpanExporter):
        def export(self, spans):
            with spans_file.open("a") as out:
                for span in spans:
                    parent = span.parent.span_id if span.parent else None
                    record = {
                        "name": span.name,
                        "trace_id": span.context.trace_id,
                        "parent_span_id": parent,
                    }
                    out.write(json.dumps(record) + "\\n")
            return SpanExportResult.SUCCESS


    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileExporter()))
    broker = ZeroMQBroker(zmq_sub_host=address).with_middlewares(
        OpenTelemetryMiddleware(tracer_provider=provider),
    )


    @broker.task(task_name="traced")
    async def traced() -> None:
        return None


    async def main() -> None:
        broker.is_worker_process = True
        await broker.startup()
        await Receiver(broker).listen(asyncio.Event())


    asyncio.run(main())
    """,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_worker_process_span_continues_the_client_trace(tmp_path: Path) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    spans_file = tmp_path / "worker_spans.jsonl"
    (tmp_path / "worker.py").write_text(WORKER)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    broker = ZeroMQBroker(zmq_pub_host=address).with_middlewares(
        OpenTelemetryMiddleware(tracer_provider=provider),
    )

    @broker.task(task_name="traced")
    async def traced() -> None: ...

    await broker.startup()
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(tmp_path / "worker.py"),
        address,
        str(spans_file),
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await broker.wait_for_subscriber(timeout=30)
        await traced.kiq()
        for _ in range(2000):
            if spans_file.exists() and spans_file.read_text().strip():
                break
            await asyncio.sleep(0.01)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(worker.communicate(), 30)
        await broker.shutdown()
        provider.shutdown()

    [send] = exporter.get_finished_spans()
    assert send.context is not None
    [executed] = [json.loads(line) for line in spans_file.read_text().splitlines()]
    assert executed["name"] == "execute traced", stderr.decode()
    assert executed["trace_id"] == send.context.trace_id
    assert executed["parent_span_id"] == send.context.span_id

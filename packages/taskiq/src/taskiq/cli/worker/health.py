"""Health endpoints of ``taskiq worker --health-port N``, for orchestrator probes.

A stdlib HTTP server in a daemon thread of the supervisor answers:

- ``GET /livez``: 200 while the supervisor's loop runs (it stepped in the last
  `LIVENESS_STALL` seconds), 503 otherwise. A liveness probe that fails restarts
  the whole worker, so it says nothing about the broker.
- ``GET /readyz``: 200 when every ``--workers`` slot has a child that started its
  broker (connected) and fetches, 503 while children start, crash, or the worker
  stops. A failing readiness probe only takes the pod out of rotation.

Both bodies are small JSON documents saying why. The server listens on
``--health-host`` (loopback by default): expose it deliberately.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from taskiq.exceptions import TaskiqError

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.cli.worker.supervisor import Supervisor

logger = logging.getLogger("taskiq.worker")

#: Seconds without a supervisor loop step after which /livez fails.
LIVENESS_STALL = 30.0


def liveness(supervisor: Supervisor) -> tuple[bool, dict[str, Any]]:
    """Whether the supervisor loop is turning, and how long ago it last did."""
    since = time.monotonic() - supervisor.alive_at
    return since < LIVENESS_STALL, {"last_step_seconds_ago": round(since, 3)}


def readiness(supervisor: Supervisor) -> tuple[bool, dict[str, Any]]:
    """Whether each slot has a ready child that is neither retiring nor exited."""
    children = list(supervisor.children)
    serving = {
        child.slot
        for child in children
        if child.ready and not child.retiring and child.process.exitcode is None
    }
    ready = not supervisor.stopping and serving >= set(range(supervisor.args.workers))
    detail = {
        "stopping": supervisor.stopping,
        "workers": supervisor.args.workers,
        "children": [
            {"slot": child.slot, "pid": child.process.pid, "ready": child.ready}
            for child in children
        ],
    }
    return ready, detail


class HealthServer:
    """The HTTP server thread; `start` binds at once so a taken port fails the worker."""

    def __init__(self, server: ThreadingHTTPServer | None) -> None:
        self.server = server

    @classmethod
    def start(cls, supervisor: Supervisor) -> HealthServer:
        """Serve the endpoints for ``supervisor`` (nothing when ``--health-port`` is unset)."""
        args = supervisor.args
        if args.health_port is None:
            return cls(None)
        try:
            server = ThreadingHTTPServer((args.health_host, args.health_port), _handler(supervisor))
        except OSError as exc:
            raise TaskiqError(
                f"Cannot serve the health endpoints on {args.health_host}:{args.health_port} "
                f"({exc.strerror or exc}); choose another --health-port."
            ) from exc
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="taskiq-health", daemon=True)
        thread.start()
        host, port = server.server_address[:2]
        logger.info("Health endpoints on http://%s:%s/livez and /readyz.", host, port)
        return cls(server)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def _handler(supervisor: Supervisor) -> type[BaseHTTPRequestHandler]:
    probes = {"/livez": liveness, "/readyz": readiness}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            probe = probes.get(self.path.split("?", 1)[0])
            if probe is None:
                self._reply(404, {"error": "not found; try /livez or /readyz"})
                return
            ok, detail = probe(supervisor)
            self._reply(200 if ok else 503, {"status": "ok" if ok else "failing", **detail})

        def _reply(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Probes every few seconds would flood the log: say nothing."""

    return Handler

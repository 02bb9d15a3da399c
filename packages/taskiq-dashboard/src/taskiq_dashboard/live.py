"""Live updates: a server-sent event stream of the overview fragment, once a second.

Each event is the ``_live.html`` fragment rendered on the server (escaped like every
page); htmx's SSE extension swaps it in. A browser that goes away ends the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from taskiq_dashboard.pages import live_context
from taskiq_dashboard.security import csrf_token
from taskiq_dashboard.state import Dashboard, dashboard_of, template_environment

EVENT = "overview"


async def live(request: Request) -> Response:
    """``text/event-stream`` of ``overview`` events."""
    dashboard = dashboard_of(request)
    return StreamingResponse(
        _events(dashboard, request),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def _events(dashboard: Dashboard, request: Request) -> AsyncIterator[str]:
    environment = dashboard.environment or template_environment()
    template = environment.get_template("_live.html")
    base = request.scope.get("root_path", "").rstrip("/")
    token = csrf_token(request)
    while not await request.is_disconnected():
        snapshot = await dashboard.sampler.latest()
        html = template.render(
            base=base,
            csrf=token,
            read_only=dashboard.read_only,
            can_cancel=dashboard.can_cancel,
            **live_context(dashboard.sampler, snapshot),
        )
        yield sse_event(EVENT, html)
        await asyncio.sleep(dashboard.sampler.interval)


def sse_event(name: str, data: str) -> str:
    """One event: the name, then every line of ``data`` as a ``data:`` line."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {name}\n{lines}\n"

"""`dashboard_app`: the ASGI app, to serve alone (``taskiq dashboard``) or to mount.

Mounted in your Starlette/FastAPI app (``app.mount("/taskiq", dashboard_app(broker))``)
it uses your broker as it is: start it in your app's lifespan as you do to send tasks.
Served alone, ``manage_broker=True`` starts it as a client and shuts it down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from taskiq.cli.ops.app import connected

from taskiq_dashboard import actions, live, pages
from taskiq_dashboard.middleware import Guard
from taskiq_dashboard.sampling import Sampler
from taskiq_dashboard.security import Credentials
from taskiq_dashboard.state import Dashboard, template_environment

STATIC = Path(__file__).parent / "static"


def dashboard_app(
    broker: Any,
    *,
    read_only: bool = False,
    credentials: Credentials | None = None,
    manage_broker: bool = False,
    interval: float = 1.0,
) -> Starlette:
    """The dashboard of ``broker``.

    ``read_only`` hides and refuses every action; ``credentials`` protects every
    request; ``interval`` is how often (seconds) the live overview polls the broker.
    """
    app = Starlette(
        routes=_routes(),
        middleware=[Middleware(Guard, credentials=credentials)],
        lifespan=_lifespan if manage_broker else None,
    )
    app.state.dashboard = Dashboard(
        broker=broker,
        sampler=Sampler(broker, interval=interval),
        read_only=read_only,
        environment=template_environment(),
    )
    return app


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    async with connected(app.state.dashboard.broker):
        yield


def _routes() -> list[Route | Mount]:
    return [
        Route("/", pages.overview, name="overview"),
        Route("/live", live.live, name="live"),
        Route("/tasks", pages.tasks, name="tasks"),
        Route("/tasks/{task_id:path}", pages.task, name="task"),
        Route("/dead-letters", pages.dead_letters, name="dead_letters"),
        Route("/actions/replay", actions.action(actions.replay), methods=["POST"]),
        Route("/actions/delete", actions.action(actions.delete), methods=["POST"]),
        Route("/actions/purge", actions.action(actions.purge), methods=["POST"]),
        Route("/actions/cancel", actions.action(actions.cancel), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

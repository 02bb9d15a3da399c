"""A request bound to the app, for tasks that depend on `Request`/`HTTPConnection`.

The request is synthetic: it carries the application (``request.app``,
``request.app.state``), the lifespan state (``request.state``) and the router
(``request.url_for``), never the data of the HTTP request that enqueued the
task. One request serves every task of the worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.types import Message, Scope
from taskiq import AsyncBroker


def populate_dependency_context(
    broker: AsyncBroker,
    app: Starlette,
    loop: asyncio.AbstractEventLoop | Mapping[str, Any] | None = None,
    lifespan_state: Mapping[str, Any] | None = None,
    *,
    asgi_state: Mapping[str, Any] | None = None,
) -> None:
    """Make `Request` and `HTTPConnection` injectable into ``broker``'s tasks.

    `init` calls this in a worker once the app has started. Call it yourself
    where no worker starts, for instance in tests with `InMemoryBroker`; the
    app's lifespan is then not run. ``loop`` is accepted for compatibility
    with older Taskiq signatures and is not needed; newer Taskiq passes the
    lifespan state third (``asgi_state``), so a mapping there is taken as the
    state that ``request.state`` shows.
    """
    if isinstance(loop, Mapping):
        asgi_state = loop
    state = lifespan_state if lifespan_state is not None else asgi_state
    request = Request(build_scope(app, state), receive=_empty_body)
    broker.add_dependency_context({Request: request, HTTPConnection: request})


def build_scope(app: Starlette, lifespan_state: Mapping[str, Any] | None = None) -> Scope:
    """An ASGI HTTP scope for ``GET /`` on ``app``, as a server would build it."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "server": ("localhost", 80),
        "client": None,
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost")],
        "app": app,
        "router": app.router,
        "state": dict(lifespan_state or {}),
    }


async def _empty_body() -> Message:
    """Tasks have no request body: reading it gives empty bytes."""
    return {"type": "http.request", "body": b"", "more_body": False}

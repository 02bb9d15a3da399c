"""The application and a request bound to it, for tasks that depend on them.

The request is synthetic (``GET /``): it carries the application
(``request.app``, ``request.config_dict``), never the data of the HTTP request
that enqueued the task. One request serves every task of the worker.
"""

from __future__ import annotations

import asyncio
import warnings

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from taskiq import AsyncBroker


def populate_context(
    broker: AsyncBroker,
    server: web.Server | None,
    app: web.Application,
    loop: asyncio.AbstractEventLoop | None = None,
) -> None:
    """Make `web.Application` and `web.Request` injectable into ``broker``'s tasks.

    `init` calls this in a worker once the app has started. Call it yourself
    where no worker starts, for instance in tests with `InMemoryBroker`; the
    app's startup signals are then not run. ``server`` and ``loop`` keep
    Taskiq's signature and are not needed (pass ``None``).
    """
    del server, loop
    _silence_request_hints_warning()
    request = make_mocked_request("GET", "/", app=app)
    broker.add_dependency_context({web.Application: app, web.Request: request})


def _silence_request_hints_warning() -> None:
    """Hide taskiq-dependencies' warning about ``web.Request.__init__``'s type hints.

    It cannot evaluate them (aiohttp declares them under TYPE_CHECKING) and
    warns once per task that depends on `web.Request`, although the request
    comes from this context and its hints are never needed.
    """
    warnings.filterwarnings(
        "ignore",
        message="Cannot resolve type hints for a class Request defined at .*aiohttp",
        category=RuntimeWarning,
    )

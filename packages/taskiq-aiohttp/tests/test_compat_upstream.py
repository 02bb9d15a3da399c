"""Programs written from Taskiq's ``taskiq-aiohttp`` README and "Taskiq + AioHTTP" page.

They use the documented surface only: ``taskiq_aiohttp.init(broker, "module:app")``
(an application or a factory, sync or async), ``web.Application`` and
``web.Request`` injected with ``TaskiqDepends`` (default value or ``Annotated``),
and the testing fixture that calls ``populate_context(broker=, server=, app=,
loop=)`` on an aiohttp ``TestServer`` and resets ``broker.custom_dependency_context``.
"""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from pathlib import Path
from types import ModuleType
from typing import Annotated

import pytest
import taskiq_aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from taskiq import InMemoryBroker, TaskiqDepends

DB_POOL = web.AppKey("db_pool", str)

APP_MODULE = """
from aiohttp import web
from taskiq import InMemoryBroker, TaskiqDepends
import taskiq_aiohttp

broker = InMemoryBroker()
EVENTS = []
DB_POOL = web.AppKey("db_pool", str)


async def open_pool(app: web.Application) -> None:
    app[DB_POOL] = "pool-from-startup"
    EVENTS.append("startup")


async def close_pool(app: web.Application) -> None:
    EVENTS.append("cleanup")


def build() -> web.Application:
    app = web.Application()
    app.on_startup.append(open_pool)
    app.on_cleanup.append(close_pool)
    return app


app = build()


def create_app() -> web.Application:
    return build()


async def create_app_async() -> web.Application:
    return build()


taskiq_aiohttp.init(broker, "{module}:{target}")


@broker.task
async def my_task(app: web.Application = TaskiqDepends()) -> str:
    return app[DB_POOL]
"""


def load_app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str) -> ModuleType:
    module = f"compat_aiohttp_{uuid.uuid4().hex[:8]}"
    source = textwrap.dedent(APP_MODULE).format(module=module, target=target)
    (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded: ModuleType = __import__(module)
    return loaded


@pytest.mark.parametrize("target", ["app", "create_app", "create_app_async"])
async def test_init_runs_the_app_startup_and_cleanup_in_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    loaded = load_app_module(tmp_path, monkeypatch, target)
    loaded.broker.is_worker_process = True
    await loaded.broker.startup()
    try:
        task = await loaded.my_task.kiq()
        assert (await task.wait_result(timeout=5)).return_value == "pool-from-startup"
        assert loaded.EVENTS == ["startup"]
    finally:
        await loaded.broker.shutdown()
    assert loaded.EVENTS == ["startup", "cleanup"]


async def test_docs_testing_fixture_with_populate_context() -> None:
    broker = InMemoryBroker()
    app = web.Application()
    app[DB_POOL] = "test-pool"

    @broker.task
    async def my_task(
        app: Annotated[web.Application, TaskiqDepends()],
        request: web.Request = TaskiqDepends(),
    ) -> list[object]:
        return [app[DB_POOL], request.app is app]

    loop = asyncio.get_running_loop()
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    try:
        assert server.runner is not None
        assert server.runner.server is not None
        taskiq_aiohttp.populate_context(
            broker=broker,
            server=server.runner.server,
            app=app,
            loop=loop,
        )
        task = await my_task.kiq()  # type: ignore[call-overload]
        assert (await task.wait_result(timeout=5)).return_value == ["test-pool", True]
    finally:
        broker.custom_dependency_context = {}
        await client.close()

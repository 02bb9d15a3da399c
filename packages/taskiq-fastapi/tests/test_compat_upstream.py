"""Programs written from Taskiq's ``taskiq-fastapi`` README and "Taskiq + FastAPI" page.

They use the documented surface only: ``taskiq_fastapi.init(broker, "module:app")``
(or the app object), ``populate_dependency_context(broker, app)``, ``Request`` and
``HTTPConnection`` injected with ``TaskiqDepends`` (default value or ``Annotated``),
the lifespan that starts the broker only outside workers, and the testing fixture
that resets ``broker.custom_dependency_context``.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import pytest
import taskiq_fastapi
from fastapi import FastAPI, Request
from starlette.requests import HTTPConnection
from taskiq import InMemoryBroker, TaskiqDepends


def get_redis_pool(request: Request = TaskiqDepends()) -> Any:
    return request.app.state.redis_pool


async def get_pool_annotated(request: Annotated[Request, TaskiqDepends()]) -> Any:
    return request.app.state.redis_pool


def make_app() -> FastAPI:
    app = FastAPI()
    app.state.redis_pool = "the-pool"
    return app


@pytest.fixture
def broker() -> Iterator[InMemoryBroker]:
    made = InMemoryBroker()
    yield made
    made.custom_dependency_context = {}  # as the docs' testing fixture does


async def test_readme_manual_context_with_inmemory_broker(broker: InMemoryBroker) -> None:
    app = make_app()
    taskiq_fastapi.init(broker, "test_script:app")  # never imported: not a worker
    taskiq_fastapi.populate_dependency_context(broker, app)

    @broker.task
    async def my_redis_task(
        key: str,
        pool: Any = TaskiqDepends(get_redis_pool),
        annotated_pool: Any = TaskiqDepends(get_pool_annotated),
        connection: HTTPConnection = TaskiqDepends(),
    ) -> list[Any]:
        return [key, pool, annotated_pool, connection.app is app]

    await broker.startup()
    task = await my_redis_task.kiq(key="k")
    result = await task.wait_result(timeout=5)
    await broker.shutdown()
    assert result.return_value == ["k", "the-pool", "the-pool", True]


async def test_asgi_state_passed_third_is_the_request_state(broker: InMemoryBroker) -> None:
    taskiq_fastapi.populate_dependency_context(broker, make_app(), {"db": "sessionmaker"})

    @broker.task
    async def read_state(request: Annotated[Request, TaskiqDepends()]) -> str:
        return str(request.state.db)

    task = await read_state.kiq()  # type: ignore[call-overload]
    assert (await task.wait_result(timeout=5)).return_value == "sessionmaker"


async def test_asgi_state_by_keyword(broker: InMemoryBroker) -> None:
    taskiq_fastapi.populate_dependency_context(broker, make_app(), asgi_state={"n": 1})

    @broker.task
    async def read_state(request: Request = TaskiqDepends()) -> int:
        return int(request.state.n)

    task = await read_state.kiq()
    assert (await task.wait_result(timeout=5)).return_value == 1


APP_MODULE = """
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from taskiq import InMemoryBroker, TaskiqDepends
import taskiq_fastapi

broker = InMemoryBroker()
EVENTS = []


@asynccontextmanager
async def lifespan(app: FastAPI):
    if not broker.is_worker_process:
        await broker.startup()
    app.state.redis_pool = "pool-from-lifespan"
    EVENTS.append("startup")
    yield
    EVENTS.append("shutdown")
    if not broker.is_worker_process:
        await broker.shutdown()


app = FastAPI(lifespan=lifespan)
taskiq_fastapi.init(broker, "{module}:app")


@broker.task
async def pool_task(request: Request = TaskiqDepends()) -> str:
    return request.app.state.redis_pool
"""


async def test_init_with_a_path_runs_the_lifespan_in_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"compat_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(APP_MODULE).format(module=module))
    monkeypatch.syspath_prepend(str(tmp_path))
    loaded = __import__(module)
    loaded.broker.is_worker_process = True
    await loaded.broker.startup()
    try:
        task = await loaded.pool_task.kiq()
        assert (await task.wait_result(timeout=5)).return_value == "pool-from-lifespan"
        assert loaded.EVENTS == ["startup"]
    finally:
        await loaded.broker.shutdown()
    assert loaded.EVENTS == ["startup", "shutdown"]


async def test_init_with_the_app_object(broker: InMemoryBroker) -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis_pool = "object-pool"
        seen.append("up")
        yield

    app = FastAPI(lifespan=lifespan)
    taskiq_fastapi.init(broker, app)

    @broker.task
    async def pool_task(pool: Any = TaskiqDepends(get_redis_pool)) -> Any:
        return pool

    broker.is_worker_process = True
    await broker.startup()
    try:
        task = await pool_task.kiq()
        assert (await task.wait_result(timeout=5)).return_value == "object-pool"
    finally:
        await broker.shutdown()
    assert seen == ["up"]


@pytest.mark.filterwarnings("ignore:\\s*on_event is deprecated:DeprecationWarning")
async def test_readme_on_event_handlers_run_in_the_worker(broker: InMemoryBroker) -> None:
    app = FastAPI()
    seen: list[str] = []

    @app.on_event("startup")
    async def app_startup() -> None:
        if not broker.is_worker_process:
            await broker.startup()
        app.state.redis_pool = "pool-from-on-event"
        seen.append("startup")

    @app.on_event("shutdown")
    async def app_shutdown() -> None:
        seen.append("shutdown")

    taskiq_fastapi.init(broker, app)

    @broker.task
    async def pool_task(pool: Any = TaskiqDepends(get_redis_pool)) -> Any:
        return pool

    broker.is_worker_process = True
    await broker.startup()
    try:
        task = await pool_task.kiq()
        assert (await task.wait_result(timeout=5)).return_value == "pool-from-on-event"
    finally:
        await broker.shutdown()
    assert seen == ["startup", "shutdown"]

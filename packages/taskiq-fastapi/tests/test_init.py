"""`init` in a worker: the app starts, tasks get a request bound to it, the app stops."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Annotated

import fastapi_sample_app
import httpx
import pytest
import taskiq_fastapi
from fastapi import Request
from fastapi_worker_support import QueueBroker, run_task, running_worker
from starlette.requests import HTTPConnection
from taskiq import InMemoryBroker, TaskiqDepends, TaskiqState


@pytest.fixture(autouse=True)
def clean_events() -> Iterator[list[str]]:
    fastapi_sample_app.EVENTS.clear()
    yield fastapi_sample_app.EVENTS
    fastapi_sample_app.EVENTS.clear()


def _declare_probe(broker: QueueBroker | InMemoryBroker) -> object:
    @broker.task
    async def probe(
        request: Request = TaskiqDepends(),
        connection: Annotated[HTTPConnection, TaskiqDepends()] = None,  # type: ignore[assignment]
        pool: str = TaskiqDepends(fastapi_sample_app.get_pool),
    ) -> dict[str, object]:
        return {
            "same_app": request.app is connection.app,
            "pool": pool,
            "lifespan_value": getattr(request.state, "lifespan_value", None),
            "url_for": str(request.url_for("pool_endpoint")),
        }

    return probe


async def test_worker_runs_lifespan_and_injects_request() -> None:
    broker = QueueBroker()
    taskiq_fastapi.init(broker, "fastapi_sample_app:app")
    probe = _declare_probe(broker)
    async with running_worker(broker):
        assert fastapi_sample_app.EVENTS == ["startup"]
        value = await run_task(probe)
    assert value == {
        "same_app": True,
        "pool": "pool-of-app",
        "lifespan_value": 42,
        "url_for": "http://localhost/pool",
    }
    assert fastapi_sample_app.EVENTS == ["startup", "shutdown"]


async def test_request_is_bound_to_the_imported_app() -> None:
    broker = QueueBroker()
    taskiq_fastapi.init(broker, "fastapi_sample_app:app")

    @broker.task
    async def app_of_task(request: Request = TaskiqDepends()) -> bool:
        return request.app is fastapi_sample_app.app

    async with running_worker(broker):
        assert await run_task(app_of_task) is True


async def test_shared_dependency_still_works_in_the_web_app() -> None:
    """The dependency tasks use keeps working as a FastAPI dependency of an endpoint."""
    app = fastapi_sample_app.create_app()
    app.state.pool = "pool-in-web"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/pool")
    assert response.json() == "pool-in-web"


@pytest.mark.parametrize(
    "path", ["fastapi_sample_app:create_app", "fastapi_sample_app:create_app_async"]
)
async def test_factory_paths(path: str) -> None:
    broker = QueueBroker()
    taskiq_fastapi.init(broker, path)
    probe = _declare_probe(broker)
    async with running_worker(broker):
        value = await run_task(probe)
    assert value["pool"] == "pool-of-app"
    assert fastapi_sample_app.EVENTS == ["startup", "shutdown"]


async def test_app_instance_is_accepted() -> None:
    broker = QueueBroker()
    app = fastapi_sample_app.create_app()
    taskiq_fastapi.init(broker, app)

    @broker.task
    async def app_of_task(request: Request = TaskiqDepends()) -> bool:
        return request.app is app

    async with running_worker(broker):
        assert await run_task(app_of_task) is True


async def test_on_startup_and_on_shutdown_handlers_run() -> None:
    broker = QueueBroker()
    taskiq_fastapi.init(broker, "fastapi_sample_app:handlers_app")
    async with running_worker(broker):
        assert fastapi_sample_app.EVENTS == ["on_startup"]
    assert fastapi_sample_app.EVENTS == ["on_startup", "on_shutdown"]


async def test_app_is_reachable_from_the_state() -> None:
    broker = QueueBroker()
    taskiq_fastapi.init(broker, "fastapi_sample_app:app")

    @broker.task
    async def from_state(state: TaskiqState = TaskiqDepends()) -> bool:
        return state.fastapi_app is fastapi_sample_app.app

    async with running_worker(broker):
        assert await run_task(from_state) is True


async def test_client_process_does_not_import_the_app() -> None:
    """The web server calls init too (it imports the broker module): nothing loads there."""
    module = "fastapi_lazy_app_never_imported"
    broker = QueueBroker()
    taskiq_fastapi.init(broker, f"{module}:app")
    await broker.startup()
    await broker.shutdown()
    assert module not in sys.modules
    assert Request not in broker.custom_dependency_context


async def test_populate_dependency_context_without_lifespan() -> None:
    broker = InMemoryBroker()
    app = fastapi_sample_app.create_app()
    app.state.pool = "pool-set-by-test"
    taskiq_fastapi.init(broker, "fastapi_sample_app:app")
    taskiq_fastapi.populate_dependency_context(broker, app)
    probe = _declare_probe(broker)
    await broker.startup()
    try:
        value = await run_task(probe)
    finally:
        await broker.shutdown()
    assert value["pool"] == "pool-set-by-test"
    assert value["same_app"] is True
    assert fastapi_sample_app.EVENTS == []  # InMemoryBroker does not start the app

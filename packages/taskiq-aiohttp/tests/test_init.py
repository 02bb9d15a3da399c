"""`init` in a worker: the app starts, tasks get it and a request bound to it, it stops."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import aiohttp_sample_app
import pytest
import taskiq_aiohttp
from aiohttp import web
from aiohttp_worker_support import QueueBroker, run_task, running_worker
from taskiq import InMemoryBroker, TaskiqDepends

ALL_SIGNALS = ["ctx_enter", "on_startup", "on_shutdown", "ctx_exit", "on_cleanup"]


@pytest.fixture(autouse=True)
def clean_events() -> Iterator[None]:
    aiohttp_sample_app.EVENTS.clear()
    yield
    aiohttp_sample_app.EVENTS.clear()


def _declare_probe(broker: QueueBroker | InMemoryBroker) -> object:
    @broker.task
    async def probe(
        app: web.Application = TaskiqDepends(),
        request: web.Request = TaskiqDepends(),
    ) -> dict[str, object]:
        return {
            "same_app": request.app is app,
            "pool": request.app[aiohttp_sample_app.POOL],
            "config_pool": request.config_dict[aiohttp_sample_app.POOL],
            "url": str(app.router["hello"].url_for()),
        }

    return probe


@pytest.mark.parametrize(
    "path",
    [
        "aiohttp_sample_app:app",
        "aiohttp_sample_app:create_app",
        "aiohttp_sample_app:create_app_async",
        "aiohttp_sample_app:runner",
    ],
)
async def test_worker_runs_signals_and_injects_app_and_request(path: str) -> None:
    broker = QueueBroker()
    taskiq_aiohttp.init(broker, path)
    probe = _declare_probe(broker)
    async with running_worker(broker):
        assert aiohttp_sample_app.EVENTS == ["ctx_enter", "on_startup"]
        value = await run_task(probe)
    assert value == {
        "same_app": True,
        "pool": "pool-of-app",
        "config_pool": "pool-of-app",
        "url": "/hello",
    }
    assert aiohttp_sample_app.EVENTS == ALL_SIGNALS


async def test_injected_app_is_the_imported_one() -> None:
    broker = QueueBroker()
    taskiq_aiohttp.init(broker, "aiohttp_sample_app:identity_app")

    @broker.task
    async def app_of_task(app: web.Application = TaskiqDepends()) -> bool:
        return app is aiohttp_sample_app.identity_app

    async with running_worker(broker):
        assert await run_task(app_of_task) is True


async def test_app_instance_is_accepted() -> None:
    broker = QueueBroker()
    app = aiohttp_sample_app.create_app()
    taskiq_aiohttp.init(broker, app)

    @broker.task
    async def app_of_task(request: web.Request = TaskiqDepends()) -> bool:
        return request.app is app

    async with running_worker(broker):
        assert await run_task(app_of_task) is True
    assert aiohttp_sample_app.EVENTS == ALL_SIGNALS


async def test_client_process_does_not_import_the_app() -> None:
    """The web server calls init too (it imports the broker module): nothing loads there."""
    module = "aiohttp_lazy_app_never_imported"
    broker = QueueBroker()
    taskiq_aiohttp.init(broker, f"{module}:app")
    await broker.startup()
    await broker.shutdown()
    assert module not in sys.modules
    assert web.Application not in broker.custom_dependency_context


async def test_populate_context_without_startup() -> None:
    broker = InMemoryBroker()
    app = aiohttp_sample_app.create_app()
    app[aiohttp_sample_app.POOL] = "pool-set-by-test"
    taskiq_aiohttp.init(broker, "aiohttp_sample_app:app")
    taskiq_aiohttp.populate_context(broker, None, app)
    probe = _declare_probe(broker)
    await broker.startup()
    try:
        value = await run_task(probe)
    finally:
        await broker.shutdown()
    assert value["pool"] == "pool-set-by-test"
    assert aiohttp_sample_app.EVENTS == []  # InMemoryBroker does not start the app

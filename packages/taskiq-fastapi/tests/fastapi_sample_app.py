"""Applications the tests load by path, in every shape `init` accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from taskiq import TaskiqDepends

#: What the lifespans did, in order; tests reset it.
EVENTS: list[str] = []


def get_pool(request: Request = TaskiqDepends()) -> str:
    """A FastAPI-style dependency shared by an endpoint and tasks."""
    return str(request.app.state.pool)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    # A task group held open across startup and shutdown must be left from the
    # task that entered it: this fails if the lifespan is split across tasks.
    async with anyio.create_task_group():
        EVENTS.append("startup")
        app.state.pool = "pool-of-app"
        yield {"lifespan_value": 42}
        EVENTS.append("shutdown")


def create_app() -> FastAPI:
    """A factory, as ``uvicorn --factory`` takes."""
    new_app = FastAPI(lifespan=lifespan)

    @new_app.get("/pool")
    async def pool_endpoint(pool: str = Depends(get_pool)) -> str:
        return pool

    return new_app


async def create_app_async() -> FastAPI:
    """An async factory."""
    return create_app()


async def _on_startup() -> None:
    EVENTS.append("on_startup")


async def _on_shutdown() -> None:
    EVENTS.append("on_shutdown")


app = create_app()
handlers_app = FastAPI(on_startup=[_on_startup], on_shutdown=[_on_shutdown])


@asynccontextmanager
async def broken_lifespan(app: FastAPI) -> AsyncIterator[None]:
    await _connect_database()
    yield  # pragma: no cover


async def _connect_database() -> None:
    raise RuntimeError("database unreachable")


broken_app = FastAPI(lifespan=broken_lifespan)
not_an_app = {"this": "is a dict"}


def failing_factory() -> FastAPI:
    raise RuntimeError("factory exploded")

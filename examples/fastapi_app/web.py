"""The web app: POST /greetings enqueues a task, GET /greetings/{task_id} reads its result."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from fastapi_app.broker import broker
from fastapi_app.dependencies import Settings, get_settings
from fastapi_app.tasks import greet


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.settings = Settings(greeting=os.environ.get("GREETING", "Hello"))
    # In a worker, taskiq_fastapi runs this lifespan and the worker starts the
    # broker itself: only the web server starts it here (as a client).
    if not broker.is_worker_process:
        await broker.startup()
    yield
    if not broker.is_worker_process:
        await broker.shutdown()


app = FastAPI(lifespan=lifespan)


class GreetingRequest(BaseModel):
    name: str


@app.post("/greetings", status_code=202)
async def enqueue_greeting(body: GreetingRequest) -> dict[str, str]:
    """Send the task to the workers and answer at once with its id."""
    task = await greet.kiq(body.name)
    return {"task_id": task.task_id}


@app.get("/greetings/{task_id}", response_model=None)
async def greeting_result(task_id: str) -> dict[str, Any] | JSONResponse:
    """The task's result once a worker stored it; 202 while it is pending."""
    backend = broker.result_backend
    if not await backend.is_result_ready(task_id):
        return JSONResponse({"ready": False}, status_code=202)
    result = await backend.get_result(task_id)
    if result.is_err:
        return JSONResponse({"ready": True, "error": repr(result.error)}, status_code=500)
    return {"ready": True, "result": result.return_value}


@app.get("/settings")
async def read_settings(settings: Settings = Depends(get_settings)) -> dict[str, str]:
    """The same dependency the task uses, resolved by FastAPI this time."""
    return {"greeting": settings.greeting}

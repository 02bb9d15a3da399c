"""Tasks. They run in `taskiq worker` processes, with the web app started there too."""

import os

from taskiq import Context, TaskiqDepends

from fastapi_app.broker import broker
from fastapi_app.dependencies import Settings, get_settings


@broker.task
async def greet(
    name: str,
    settings: Settings = TaskiqDepends(get_settings),
    context: Context = TaskiqDepends(),
) -> dict[str, object]:
    """Build a greeting from the app's settings, saying where it ran."""
    return {
        "greeting": f"{settings.greeting}, {name}!",
        "task_id": context.message.task_id,
        "in_worker": context.broker.is_worker_process,
        "pid": os.getpid(),
    }

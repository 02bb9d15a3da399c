"""Dependencies used both by request handlers (FastAPI) and by tasks (taskiq)."""

from fastapi import Request
from taskiq import TaskiqDepends


class Settings:
    """What the lifespan puts on ``app.state`` for everyone to read."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting


def get_settings(request: Request = TaskiqDepends()) -> Settings:
    """``TaskiqDepends()`` on `Request` lets taskiq inject it; FastAPI ignores the default."""
    settings: Settings = request.app.state.settings
    return settings

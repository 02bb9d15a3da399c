"""Run an app's lifespan (startup, then later shutdown) outside of a server.

The lifespan context is entered and exited inside one dedicated task, as
uvicorn does: lifespans that open anyio task groups or cancel scopes must be
left from the task that entered them, and the worker may shut down from a
different task than the one that started it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette


class LifespanRunner:
    """Holds one app's lifespan open between `start` and `stop`."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state: Mapping[str, Any] = {}
        self._started: asyncio.Future[None] | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Run the startup half; its exception, if any, is raised here."""
        self._started = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(self._started), name="fastapi-lifespan")
        await asyncio.shield(self._started)

    async def stop(self) -> None:
        """Run the shutdown half; its exception, if any, is raised here."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self._stop.set()
        await task

    async def _run(self, started: asyncio.Future[None]) -> None:
        try:
            async with self.app.router.lifespan_context(self.app) as state:
                self.state = dict(state or {})
                started.set_result(None)
                await self._stop.wait()
        except asyncio.CancelledError:
            started.cancel()
            raise
        except BaseException as exc:
            if started.done():
                raise
            started.set_exception(exc)

"""`init`: start the FastAPI app inside every worker of a broker."""

from __future__ import annotations

from starlette.applications import Starlette
from taskiq import AsyncBroker, TaskiqEvents, TaskiqState

from taskiq_fastapi.context import populate_dependency_context
from taskiq_fastapi.lifespan import LifespanRunner
from taskiq_fastapi.loader import load_app


def init(broker: AsyncBroker, app_or_path: str | Starlette) -> None:
    """Run the app's lifespan in workers and inject `Request` into tasks.

    ``app_or_path`` is ``"package.module:app"`` (an app, or a factory that
    returns one, possibly async) or the app itself. Nothing is imported here:
    the path is resolved at worker startup, so calling `init` in the broker
    module costs the web server nothing and cannot create an import cycle.
    Handlers run only when ``broker.is_worker_process`` is set, so the
    in-process `InMemoryBroker` does not start the app a second time (use
    `populate_dependency_context` there).
    """
    holder = _WorkerApp(broker, app_or_path)
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, holder.startup)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, holder.shutdown)


class _WorkerApp:
    """The app of one worker process, from import to shutdown."""

    def __init__(self, broker: AsyncBroker, app_or_path: str | Starlette) -> None:
        self.broker = broker
        self.app_or_path = app_or_path
        self.runner: LifespanRunner | None = None

    async def startup(self, state: TaskiqState) -> None:
        """Load the app, run its startup, then expose the request to tasks."""
        if not self.broker.is_worker_process or self.runner is not None:
            return
        app = await load_app(self.app_or_path)
        runner = LifespanRunner(app)
        await runner.start()
        self.runner = runner
        state.fastapi_app = app
        populate_dependency_context(self.broker, app, lifespan_state=runner.state)

    async def shutdown(self, state: TaskiqState) -> None:
        """Run the app's shutdown if its startup ran."""
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.stop()

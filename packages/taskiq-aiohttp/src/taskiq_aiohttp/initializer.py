"""`init`: start the aiohttp application inside every worker of a broker."""

from __future__ import annotations

import logging

from aiohttp import web
from taskiq import AsyncBroker, TaskiqEvents, TaskiqState

from taskiq_aiohttp.context import populate_context
from taskiq_aiohttp.loader import load_app

logger = logging.getLogger("taskiq_aiohttp")


def init(broker: AsyncBroker, app_path: str | web.Application) -> None:
    """Run the app's startup and cleanup in workers and inject it into tasks.

    ``app_path`` (Taskiq's parameter name) is ``"package.module:app"`` (an application, an
    ``AppRunner``, or a factory returning one, possibly async) or the
    application itself. Nothing is imported here: the path is resolved at
    worker startup, so the web server that imports the broker module pays
    nothing. At worker startup the app's ``cleanup_ctx`` and ``on_startup``
    run (no socket is opened); at worker shutdown ``on_shutdown``, then the
    ``cleanup_ctx`` exits and ``on_cleanup``. Handlers run only when
    ``broker.is_worker_process`` is set (use `populate_context` with
    `InMemoryBroker`).
    """
    holder = _WorkerApp(broker, app_path)
    broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, holder.startup)
    broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, holder.shutdown)


async def _start(app: web.Application) -> web.AppRunner:
    """Run the startup signals; if one fails, undo the ``cleanup_ctx`` entered so far."""
    runner = web.AppRunner(app, handle_signals=False)
    try:
        await runner.setup()
    except BaseException:
        try:
            await runner.cleanup()
        except Exception:
            logger.exception("Cleaning up after the failed startup of %r failed too.", app)
        raise
    return runner


class _WorkerApp:
    """The application of one worker process, from import to cleanup."""

    def __init__(self, broker: AsyncBroker, app_or_path: str | web.Application) -> None:
        self.broker = broker
        self.app_or_path = app_or_path
        self.runner: web.AppRunner | None = None

    async def startup(self, state: TaskiqState) -> None:
        """Load the app, run its startup signals, then expose it to tasks."""
        if not self.broker.is_worker_process or self.runner is not None:
            return
        app = await load_app(self.app_or_path)
        runner = await _start(app)
        self.runner = runner
        state.aiohttp_runner = runner
        populate_context(self.broker, runner.server, app)

    async def shutdown(self, state: TaskiqState) -> None:
        """Run the app's shutdown and cleanup signals if its startup ran."""
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.cleanup()

"""The ``taskiq scheduler`` process: import, start, run until SIGINT/SIGTERM, stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.api.scheduler import run_scheduler_task
from taskiq.cli.common_args import configure_logging
from taskiq.cli.scheduler.args import SchedulerArgs
from taskiq.cli.utils import CLIImportError, add_app_dir, import_object, import_tasks
from taskiq.cli.worker.connect import StartupConfigError, start_when_reachable
from taskiq.scheduler.scheduler import TaskiqScheduler

logger = logging.getLogger("taskiq.cli.scheduler")

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def load_scheduler(spec: str) -> TaskiqScheduler:
    """Import ``module:variable``; call it first if it is a factory function."""
    found: Any = import_object(spec)
    if callable(found) and not isinstance(found, TaskiqScheduler):
        try:
            found = found()
        except Exception as exc:
            raise CLIImportError(spec=spec, reason=f"calling it failed: {exc!r}") from exc
    if not isinstance(found, TaskiqScheduler):
        raise CLIImportError(
            spec=spec,
            reason=f"it is a {type(found).__name__}, not a TaskiqScheduler.",
        )
    return found


def run_scheduler(args: SchedulerArgs) -> int:
    """Run the scheduler process; return its exit code (0 after SIGINT/SIGTERM)."""
    configure_logging(args.configure_logging, args.log_level, args.log_format)
    AsyncBroker.is_scheduler_process = True  # before the import, as for workers
    try:
        add_app_dir(args.app_dir)
        scheduler = load_scheduler(args.scheduler)
        import_tasks(args.modules, args.tasks_pattern, args.fs_discover, args.app_dir)
    except CLIImportError as exc:
        logger.error("%s", exc)
        return 1
    scheduler.broker.is_scheduler_process = True
    return asyncio.run(serve(scheduler, args))


async def serve(scheduler: TaskiqScheduler, args: SchedulerArgs) -> int:
    """Start the scheduler, run it until a stop signal, then shut it down."""
    stop = asyncio.Event()
    _install_stop_handlers(stop)
    try:
        if not await start_when_reachable(scheduler.broker, stop, scheduler.startup, logger):
            await scheduler.shutdown()
            return 0
    except StartupConfigError as exc:
        logger.error("%s", exc.line)
        await scheduler.shutdown()
        return 1
    except Exception:
        logger.exception("The scheduler failed to start.")
        await scheduler.shutdown()
        return 1
    logger.info("Scheduler started with %d source(s).", len(scheduler.sources))
    running = asyncio.create_task(
        run_scheduler_task(
            scheduler,
            interval=args.update_interval,
            skip_first_run=args.skip_first_run,
            loop_interval=args.loop_interval,
        ),
    )
    return await _wait_then_stop(scheduler, running, stop)


async def _wait_then_stop(
    scheduler: TaskiqScheduler,
    running: asyncio.Task[None],
    stop: asyncio.Event,
) -> int:
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    running.cancel()
    code = 0
    try:
        await running
    except asyncio.CancelledError:
        pass
    except Exception:
        logger.exception("The scheduler loop crashed.")
        code = 1
    logger.info("Shutting the scheduler down.")
    await scheduler.shutdown()
    return code


def _install_stop_handlers(stop: asyncio.Event) -> None:
    """The first SIGINT/SIGTERM stops gracefully; a second one acts as usual (kills)."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        logger.info("Stop signal received; finishing sends in flight.")
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        stop.set()

    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal)

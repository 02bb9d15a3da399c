"""A scheduler as a coroutine: ``asyncio.create_task(run_scheduler_task(scheduler))``."""

from __future__ import annotations

import datetime

from taskiq.scheduler.runner import ScheduleRunner
from taskiq.scheduler.scheduler import TaskiqScheduler


def _seconds(value: float | datetime.timedelta | None) -> float | None:
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return value


async def run_scheduler_task(
    scheduler: TaskiqScheduler,
    run_startup: bool = False,
    interval: float | datetime.timedelta | None = None,
    skip_first_run: bool = False,
    loop_interval: float | datetime.timedelta | None = None,
) -> None:
    """Send ``scheduler``'s tasks from the running loop until cancelled.

    ``interval`` is how often the sources are re-read (``--update-interval``;
    default ``scheduler.refresh_delay``); between reads the loop sleeps until
    the next fire time. ``skip_first_run`` does not send what is due in the
    current minute at start (``--skip-first-run``); ``loop_interval`` caps
    each sleep.

    With ``run_startup`` the scheduler's `startup` (sources and broker) runs
    first and its `shutdown` on the way out. Without it the broker is the
    caller's to start and stop; sources not started yet are started here and
    stopped on cancellation. Sends already on their way finish before the
    cancellation goes through.
    """
    started_here = run_startup and not scheduler.is_started
    if started_here:
        await scheduler.startup()
    sources_started = await scheduler.start_sources()
    runner = ScheduleRunner(
        scheduler,
        update_interval=_seconds(interval),
        skip_first_run=skip_first_run,
        loop_interval=_seconds(loop_interval),
    )
    try:
        await runner.run()
    finally:
        if started_here:
            await scheduler.shutdown()
        else:
            await scheduler.stop_sources(sources_started)

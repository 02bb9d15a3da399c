"""The scheduler loop: read sources, sleep until the next fire time, send, repeat.

The loop wakes for two reasons only: a schedule is due (it sleeps until that
exact instant) or ``update_interval`` seconds passed since the sources were
last read. A broken schedule (bad cron, unknown zone, non-positive interval) is
logged once and skipped; a source that fails to answer keeps its previous
schedules until it answers again. Sends run concurrently, so a slow broker
call does not delay other schedules.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from taskiq.scheduler.merge_functions import preserve_all
from taskiq.scheduler.next_fire import first_fire, following_fire, utc_now
from taskiq.scheduler.scheduled_task import ScheduledTask

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.schedule_source import ScheduleSource
    from taskiq.scheduler.scheduler import TaskiqScheduler

logger = logging.getLogger("taskiq.scheduler")

_Key = tuple[int, str]
#: How long shutdown waits for sends that are already on their way.
_DRAIN_TIMEOUT = 10.0


@dataclass
class _Entry:
    source: ScheduleSource
    task: ScheduledTask
    signature: Hashable
    next_fire: datetime.datetime


def _signature(task: ScheduledTask) -> Hashable:
    """What makes a schedule fire differently: a change resets its timing."""
    return (task.cron, repr(task.cron_offset), repr(task.time), repr(task.interval))


def _minute_start(now: datetime.datetime) -> datetime.datetime:
    return now.replace(second=0, microsecond=0)


class ScheduleRunner:
    """Runs one scheduler until cancelled. Use `taskiq.api.run_scheduler_task`."""

    def __init__(
        self,
        scheduler: TaskiqScheduler,
        update_interval: float | None = None,
        skip_first_run: bool = False,
        loop_interval: float | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.update_interval = update_interval or scheduler.refresh_delay
        if not self.update_interval > 0:
            raise ValueError(f"update_interval must be > 0 seconds, got {update_interval!r}.")
        self.skip_first_run = skip_first_run
        self.loop_interval = loop_interval
        self._entries: dict[_Key, _Entry] = {}
        self._fired_once: dict[_Key, Hashable] = {}
        self._reported: set[tuple[_Key, Hashable]] = set()
        self._last_known: dict[int, list[ScheduledTask]] = {}
        self._last_read: datetime.datetime | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Loop until cancelled; on the way out, let in-flight sends finish."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self.refresh()
                deadline = loop.time() + self.update_interval
                while loop.time() < deadline:
                    self.fire_due(utc_now())
                    await asyncio.sleep(self._pause(deadline - loop.time()))
        finally:
            await self._drain()

    def upcoming(self) -> dict[str, datetime.datetime]:
        """Next fire time (UTC) of every schedule known after the last read, by id."""
        return {key[1]: entry.next_fire for key, entry in self._entries.items()}

    # -- reading ---------------------------------------------------------------

    async def refresh(self) -> None:
        """Read every source and reconcile the known schedules with what they say."""
        now = utc_now()
        since = self._catch_up_from(now)
        present: dict[_Key, _Entry] = {}
        still_listed: dict[_Key, Hashable] = {}
        for key, source, task in await self._read_all():
            entry = self._reconcile(key, source, task, since, now)
            if entry is not None:
                present[key] = entry
            elif key in self._fired_once:
                still_listed[key] = self._fired_once[key]
        # A fired one-off is forgotten once its source stops listing it.
        self._entries, self._fired_once = present, still_listed
        self._last_read = now

    def _catch_up_from(self, now: datetime.datetime) -> datetime.datetime:
        if self._last_read is not None:
            return self._last_read
        if self.skip_first_run:
            return now
        return _minute_start(now) - datetime.timedelta(microseconds=1)

    async def _read_all(self) -> list[tuple[_Key, ScheduleSource, ScheduledTask]]:
        """Every schedule after merging, with the index of the source it came from."""
        sources = self.scheduler.sources
        answers = await asyncio.gather(*(self._read_one(i, s) for i, s in enumerate(sources)))
        origin: dict[int | str, int] = {}
        for index, tasks in enumerate(answers):
            origin.update({id(task): index for task in tasks})
            origin.update({task.schedule_id: index for task in tasks})
        found: list[tuple[_Key, ScheduleSource, ScheduledTask]] = []
        for task in self._merge(answers):
            index = origin.get(id(task), origin.get(task.schedule_id, -1))
            if index < 0:
                logger.warning("The merge function returned unknown schedule %r.", task)
                continue
            found.append(((index, task.schedule_id), sources[index], task))
        return found

    def _merge(self, answers: list[list[ScheduledTask]]) -> list[ScheduledTask]:
        merged: list[ScheduledTask] = []
        for tasks in answers:
            try:
                merged = list(self.scheduler.merge_func(merged, tasks))
            except Exception:
                logger.exception("The merge function failed; keeping every schedule this time.")
                merged = preserve_all(merged, tasks)
        return [task for task in merged if isinstance(task, ScheduledTask)]

    async def _read_one(self, index: int, source: ScheduleSource) -> list[ScheduledTask]:
        try:
            answer = list(await source.get_schedules())
        except Exception:
            logger.exception(
                "Cannot read schedules from %r; keeping its previous %d schedule(s).",
                source,
                len(self._last_known.get(index, [])),
            )
            return self._last_known.get(index, [])
        tasks = [task for task in answer if isinstance(task, ScheduledTask)]
        if len(tasks) != len(answer):
            logger.error(
                "%r returned %d non-ScheduledTask item(s); skipping them.",
                source,
                len(answer) - len(tasks),
            )
        self._last_known[index] = tasks
        await self.scheduler.schedules_updated(source, tasks)
        return tasks

    def _reconcile(
        self,
        key: _Key,
        source: ScheduleSource,
        task: ScheduledTask,
        since: datetime.datetime,
        now: datetime.datetime,
    ) -> _Entry | None:
        signature = _signature(task)
        known = self._entries.get(key)
        if known is not None and known.signature == signature:
            known.task, known.source = task, source
            return known
        if self._fired_once.get(key) == signature:
            return None
        try:
            next_fire = first_fire(task, since, now)
        except Exception as exc:  # any schedule-specific failure must not stop the loop
            self._report_broken(key, signature, task, exc)
            return None
        return _Entry(source, task, signature, next_fire)

    def _report_broken(
        self,
        key: _Key,
        signature: Hashable,
        task: ScheduledTask,
        exc: Exception,
    ) -> None:
        if (key, signature) in self._reported:
            return
        self._reported.add((key, signature))
        logger.error(
            "Skipping schedule %s of task %s: %s",
            task.schedule_id,
            task.task_name,
            exc,
        )

    # -- firing ----------------------------------------------------------------

    def fire_due(self, now: datetime.datetime) -> None:
        """Send every schedule due at ``now`` and work out when each fires next."""
        for key, entry in list(self._entries.items()):
            if entry.next_fire > now:
                continue
            self._spawn_send(key, entry)
            try:
                upcoming = following_fire(entry.task, entry.next_fire, now)
            except Exception as exc:  # same: skip this schedule, keep the others
                self._report_broken(key, entry.signature, entry.task, exc)
                upcoming = None
            if upcoming is None:
                self._fired_once[key] = entry.signature
                del self._entries[key]
            else:
                entry.next_fire = upcoming

    def _spawn_send(self, key: _Key, entry: _Entry) -> None:
        sending = asyncio.create_task(self._send(key, entry.source, entry.task))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)

    async def _send(self, key: _Key, source: ScheduleSource, task: ScheduledTask) -> None:
        try:
            await self.scheduler.on_ready(source, task)
        except Exception:
            retry = task.time is not None
            logger.exception(
                "Could not send task %s (schedule %s)%s.",
                task.task_name,
                task.schedule_id,
                "; will retry after the next read of the sources" if retry else "",
            )
            if retry:
                self._fired_once.pop(key, None)

    def _pause(self, until_read: float) -> float:
        pause = until_read
        if self._entries:
            earliest = min(entry.next_fire for entry in self._entries.values())
            pause = min(pause, (earliest - utc_now()).total_seconds())
        if self.loop_interval:
            pause = min(pause, self.loop_interval)
        return max(pause, 0.0)

    async def _drain(self) -> None:
        if not self._sending:
            return
        pending = set(self._sending)
        _, still_running = await asyncio.wait(pending, timeout=_DRAIN_TIMEOUT)
        for sending in still_running:
            sending.cancel()
        if still_running:
            logger.warning("Cancelled %d send(s) still running at shutdown.", len(still_running))

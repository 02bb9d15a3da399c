"""The scheduler loop: read sources, sleep until the next fire time, send, repeat.

The loop wakes for two reasons only: a schedule is due (it sleeps until that
exact instant) or ``update_interval`` seconds passed since the sources were
last read. A broken schedule (bad cron, unknown zone, non-positive interval) is
logged once and skipped; a source that fails to answer keeps its previous
schedules until it answers again. Sends run concurrently, so a slow broker
call does not delay other schedules.

Each fire is claimed before it is sent (`taskiq.scheduler.fires`), so several
runners on the same sources send it once. A schedule found for the first
time catches up on fires it missed by its ``catchup`` policy; a paused one
keeps its place in the listing and sends nothing.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Coroutine, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from taskiq.scheduler.fires import FireGuard, fire_task_id, fire_time_text, lookback
from taskiq.scheduler.merge_functions import preserve_all
from taskiq.scheduler.next_fire import as_utc, fire_after, fires_between, following_fire, utc_now
from taskiq.scheduler.scheduled_task import ScheduledTask

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.schedule_source import ScheduleSource
    from taskiq.scheduler.scheduler import TaskiqScheduler

logger = logging.getLogger("taskiq.scheduler")

_Key = tuple[int, str]
#: How long shutdown waits for sends that are already on their way.
_DRAIN_TIMEOUT = 10.0
#: Most missed fires one schedule sends when it catches up with ``all``.
_MAX_CATCHUP = 1000
#: A lost claim on a fire older than this is not checked for a crashed sender.
_RECOVER_AGE = datetime.timedelta(seconds=60)


@dataclass
class _Entry:
    source: ScheduleSource
    task: ScheduledTask
    signature: Hashable
    next_fire: datetime.datetime
    #: Missed fires still to send after ``next_fire``, oldest first (catch-up).
    pending: list[datetime.datetime] = field(default_factory=list)


def _signature(task: ScheduledTask) -> Hashable:
    """What makes a schedule fire differently: a change resets its timing."""
    return (task.cron, repr(task.cron_offset), repr(task.time), repr(task.interval))


def _minute_start(now: datetime.datetime) -> datetime.datetime:
    return now.replace(second=0, microsecond=0)


def _count_fires(task: ScheduledTask, after: datetime.datetime, before: datetime.datetime) -> int:
    """Fires in ``(after, before)``, counted up to ``_MAX_CATCHUP``."""
    count, moment = 0, fire_after(task, after)
    while moment is not None and moment < before and count < _MAX_CATCHUP:
        count += 1
        moment = fire_after(task, moment)
    return count


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
        self._recovering: set[asyncio.Task[None]] = set()
        self.guard = FireGuard(scheduler.broker)

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
        present: dict[_Key, _Entry] = {}
        still_listed: dict[_Key, Hashable] = {}
        for key, source, task in await self._read_all():
            entry = self._reconcile(key, source, task, now)
            if entry is not None:
                present[key] = entry
            elif key in self._fired_once:
                still_listed[key] = self._fired_once[key]
        # A fired one-off is forgotten once its source stops listing it.
        self._entries, self._fired_once = present, still_listed
        if self._last_read is None and not self.skip_first_run:
            await self._report_skipped(now)
        self._last_read = now

    async def _report_skipped(self, now: datetime.datetime) -> None:
        """At start-up: log the fires a catch-up policy skips as older than its window."""
        for entry in self._entries.values():
            task = entry.task
            if task.catchup == "none" or task.time is not None:
                continue
            try:
                last = await self.guard.last_fire(task)
                window_start = now - datetime.timedelta(seconds=lookback(task))
                if last is None or last >= window_start:
                    continue
                skipped = _count_fires(task, last, window_start)
            except Exception:
                logger.exception("Could not read the last fire of schedule %s.", task.schedule_id)
                continue
            if skipped:
                logger.warning(
                    "Schedule %s: skipping %s missed fire(s) after its last sent fire %s and "
                    "before %s, older than its catchup_window.",
                    task.schedule_id,
                    f"{skipped}+" if skipped >= _MAX_CATCHUP else skipped,
                    fire_time_text(last),
                    fire_time_text(window_start),
                )

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
            fires = self._first_fires(task, now)
        except Exception as exc:  # any schedule-specific failure must not stop the loop
            self._report_broken(key, signature, task, exc)
            return None
        if not fires:
            return None
        return _Entry(source, task, signature, fires[0], fires[1:])

    def _first_fires(self, task: ScheduledTask, now: datetime.datetime) -> list[datetime.datetime]:
        """The fires of a schedule seen for the first time: missed ones to catch up, or the next.

        At start-up, ``none`` sends a fire due in the current minute (an
        interval: within one period); ``latest``/``all`` look ``catchup_window``
        back. A schedule added while running catches up since the previous read.
        With ``--skip-first-run`` nothing is caught up at start-up.
        """
        upcoming = fire_after(task, now)
        if self._last_read is None and self.skip_first_run:
            return [upcoming] if upcoming is not None else []
        if task.time is not None:
            return [as_utc(task.time)]
        if self._last_read is not None:
            start = self._last_read
        elif task.catchup == "none" and task.cron is not None:
            start = _minute_start(now) - datetime.timedelta(microseconds=1)
        else:
            start = now - datetime.timedelta(seconds=lookback(task))
        limit = _MAX_CATCHUP if task.catchup == "all" else 1
        missed = fires_between(task, start, now, limit)
        if task.catchup != "none" and missed:
            logger.info(
                "Schedule %s catches up %d missed fire(s) since %s (catchup=%s); fires older "
                "than its catchup_window are skipped.",
                task.schedule_id,
                len(missed),
                fire_time_text(start),
                task.catchup,
            )
        return missed + ([upcoming] if upcoming is not None else [])

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
            fire = entry.next_fire
            if entry.task.paused:
                logger.debug("Schedule %s is paused; not sending its fire.", entry.task.schedule_id)
            else:
                self._spawn(self._send(key, entry.source, entry.task, fire, now - fire))
            if entry.pending:
                entry.next_fire = entry.pending.pop(0)
                continue
            try:
                upcoming = following_fire(entry.task, fire, now)
            except Exception as exc:  # same: skip this schedule, keep the others
                self._report_broken(key, entry.signature, entry.task, exc)
                upcoming = None
            if upcoming is None:
                self._fired_once[key] = entry.signature
                del self._entries[key]
            else:
                entry.next_fire = upcoming

    def _spawn(self, work: Coroutine[None, None, None], into: str = "_sending") -> None:
        running: set[asyncio.Task[None]] = getattr(self, into)
        sending = asyncio.create_task(work)
        running.add(sending)
        sending.add_done_callback(running.discard)

    async def _send(
        self,
        key: _Key,
        source: ScheduleSource,
        task: ScheduledTask,
        fire: datetime.datetime,
        age: datetime.timedelta,
    ) -> None:
        try:
            if not await self.guard.claim(task, fire):
                if self.guard.can_recover and age < _RECOVER_AGE:
                    self._spawn(self._recover(source, task, fire), into="_recovering")
                return
            await self._send_claimed(source, task, fire)
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

    async def _send_claimed(
        self,
        source: ScheduleSource,
        task: ScheduledTask,
        fire: datetime.datetime,
    ) -> None:
        """Apply the overlap policy, then send the fire with its derived task id."""
        task_id = fire_task_id(task, fire)
        buffered = False
        if task.overlap != "allow" and await self.guard.previous_active(task):
            buffered = task.overlap == "buffer_one" and await self.guard.wait_buffered(task)
            if not buffered:
                logger.info(
                    "Skipping fire %s of schedule %s: its previous run is still active "
                    "(overlap=%s).",
                    fire_time_text(fire),
                    task.schedule_id,
                    task.overlap,
                )
                await self.guard.mark_not_sent(task, fire)
                return
        try:
            if not await self.scheduler.on_ready(source, task, task_id=task_id):
                await self.guard.mark_not_sent(task, fire)
                return
            if task.overlap != "allow":
                await self.guard.mark_sent(task, task_id)
            if task.catchup != "none":
                await self.guard.mark_last_fire(task, fire)
        finally:
            if buffered:
                await self.guard.release_buffer(task)

    async def _recover(
        self,
        source: ScheduleSource,
        task: ScheduledTask,
        fire: datetime.datetime,
    ) -> None:
        """Another replica claimed this fire: after a grace, send it if that replica did not."""
        await asyncio.sleep(self.guard.resend_grace)
        try:
            if not await self.guard.claim_resend(task, fire):
                return
            logger.warning(
                "Fire %s of schedule %s was claimed by a replica that never sent it; "
                "sending it now with task id %s.",
                fire_time_text(fire),
                task.schedule_id,
                fire_task_id(task, fire),
            )
            await self._send_claimed(source, task, fire)
        except Exception:
            logger.exception(
                "Could not check or resend fire %s of schedule %s.",
                fire_time_text(fire),
                task.schedule_id,
            )

    def _pause(self, until_read: float) -> float:
        pause = until_read
        if self._entries:
            earliest = min(entry.next_fire for entry in self._entries.values())
            pause = min(pause, (earliest - utc_now()).total_seconds())
        if self.loop_interval:
            pause = min(pause, self.loop_interval)
        return max(pause, 0.0)

    async def _drain(self) -> None:
        for recovering in self._recovering:
            recovering.cancel()
        if not self._sending:
            return
        pending = set(self._sending)
        _, still_running = await asyncio.wait(pending, timeout=_DRAIN_TIMEOUT)
        for sending in still_running:
            sending.cancel()
        if still_running:
            logger.warning("Cancelled %d send(s) still running at shutdown.", len(still_running))

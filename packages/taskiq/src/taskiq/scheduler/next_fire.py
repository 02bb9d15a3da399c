"""When a schedule fires next: pure functions of the schedule and "now".

Every instant returned here is an aware UTC datetime. Naive inputs are UTC.
Cron expressions are evaluated in wall-clock time of ``cron_offset`` (a zone
name such as ``"Europe/Paris"`` or a fixed ``timedelta``), so ``"0 9 * * *"``
with ``"Europe/Paris"`` fires at 09:00 Paris time in winter and in summer.

Daylight-saving rules, for zone offsets:

* a wall time that does not exist (skipped when clocks jump forward) fires at
  the first instant after the jump, once;
* a wall time that happens twice (clocks fall back) fires once, the first time.
"""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from taskiq.exceptions import ScheduleError
from taskiq.scheduler.scheduled_task import ScheduledTask

UTC = datetime.timezone.utc
_ONE_MINUTE = datetime.timedelta(minutes=1)
#: Clock jumps are at most a few hours; we search a day of minutes at most.
_MAX_GAP_MINUTES = 24 * 60
#: Candidates we may skip (all inside a DST fold) before giving up.
_MAX_CANDIDATES = 10_000


def utc_now() -> datetime.datetime:
    """The current instant, aware, in UTC."""
    return datetime.datetime.now(tz=UTC)


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """Read a naive datetime as UTC; convert an aware one to UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def resolve_zone(offset: str | datetime.timedelta | None) -> datetime.tzinfo:
    """Turn a ``cron_offset`` into a zone: UTC, a fixed offset, or an IANA zone."""
    if offset is None:
        return UTC
    if isinstance(offset, datetime.timedelta):
        try:
            return datetime.timezone(offset)
        except ValueError as exc:
            raise ScheduleError(reason=f"cron_offset {offset!r} is not within ±24h") from exc
    try:
        return ZoneInfo(offset)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(
            f"Unknown time zone {offset!r} in cron_offset; use an IANA name such as "
            "'Europe/Paris' or a datetime.timedelta.",
        ) from exc


def cron_fire_after(
    cron: str,
    offset: str | datetime.timedelta | None,
    after: datetime.datetime,
) -> datetime.datetime:
    """Return the first instant strictly after ``after`` that ``cron`` matches."""
    zone = resolve_zone(offset)
    after = as_utc(after)
    local_start = after.astimezone(zone).replace(tzinfo=None)
    try:
        candidates = croniter(cron, local_start)
        for _ in range(_MAX_CANDIDATES):
            moment = _wall_time_to_instant(candidates.get_next(datetime.datetime), zone)
            if moment > after:
                return moment.astimezone(UTC)
    except CroniterError as exc:
        raise ScheduleError(
            f"Invalid cron expression {cron!r}: {str(exc).rstrip('.')}. Use five fields: "
            "minute hour day-of-month month day-of-week, e.g. '*/5 * * * *'.",
        ) from exc
    raise ScheduleError(f"Cron expression {cron!r} never fires after {after.isoformat()}.")


def _wall_time_to_instant(wall: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    """Attach ``zone``; a wall time skipped by a clock jump moves to the jump's end."""
    for _ in range(_MAX_GAP_MINUTES):
        moment = wall.replace(tzinfo=zone, fold=0)
        if _exists(moment):
            return moment
        wall += _ONE_MINUTE
    raise ScheduleError(f"No valid wall time near {wall.isoformat()} in zone {zone}.")


def _exists(moment: datetime.datetime) -> bool:
    round_trip = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def interval_of(task: ScheduledTask) -> datetime.timedelta:
    """The positive period of an ``interval`` schedule."""
    interval = task.interval
    if not isinstance(interval, datetime.timedelta):
        interval = datetime.timedelta(seconds=float(interval or 0))
    if interval <= datetime.timedelta(0):
        raise ScheduleError(
            f"interval must be positive, got {task.interval!r} for schedule {task.schedule_id!r}.",
        )
    return interval


def first_fire(
    task: ScheduledTask,
    since: datetime.datetime,
    now: datetime.datetime,
) -> datetime.datetime:
    """The first fire of a schedule the scheduler has just discovered.

    Cron times strictly after ``since`` count (``since`` before ``now`` catches
    up on what became due since the previous read). An ``interval`` schedule
    fires at once unless ``since`` is ``now``, then one period later. A ``time``
    schedule fires at its time, or at once if that time has passed.
    """
    if task.cron is not None:
        return cron_fire_after(task.cron, task.cron_offset, since)
    if task.time is not None:
        return as_utc(task.time)
    if as_utc(since) < as_utc(now):
        interval_of(task)
        return as_utc(now)
    return as_utc(now) + interval_of(task)


def following_fire(
    task: ScheduledTask,
    fired_at: datetime.datetime,
    now: datetime.datetime,
) -> datetime.datetime | None:
    """The fire after the one due at ``fired_at``; ``None`` for a one-off.

    Fires missed while the scheduler was late are skipped, not sent in a burst.
    """
    fired_at, now = as_utc(fired_at), as_utc(now)
    if task.cron is not None:
        return cron_fire_after(task.cron, task.cron_offset, max(fired_at, now))
    if task.time is not None:
        return None
    period = interval_of(task)
    missed = max(0, int((now - fired_at) / period))
    return fired_at + period * (missed + 1)

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
    """Return the first instant strictly after ``after`` that ``cron`` matches.

    Five fields are minute hour day month weekday; six put seconds first.
    """
    zone = resolve_zone(offset)
    after = as_utc(after)
    local_start = after.astimezone(zone).replace(tzinfo=None)
    fields = len(cron.split())
    if fields not in (5, 6):
        raise ScheduleError(
            f"Invalid cron expression {cron!r}: it has {fields} field(s). Use five "
            "(minute hour day-of-month month day-of-week, e.g. '*/5 * * * *') or six "
            "with seconds first (e.g. '*/5 * * * * *').",
        )
    try:
        candidates = croniter(cron, local_start, second_at_beginning=fields == 6)
        for _ in range(_MAX_CANDIDATES):
            moment = _wall_time_to_instant(candidates.get_next(datetime.datetime), zone)
            if moment > after:
                return moment.astimezone(UTC)
    except CroniterError as exc:
        raise ScheduleError(
            f"Invalid cron expression {cron!r}: {str(exc).rstrip('.')}. Use five fields "
            "(minute hour day-of-month month day-of-week, e.g. '*/5 * * * *') or six "
            "with seconds first (e.g. '*/5 * * * * *').",
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


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)


def interval_fire_after(period: datetime.timedelta, after: datetime.datetime) -> datetime.datetime:
    """The first multiple of ``period`` since the Unix epoch strictly after ``after``.

    Interval fires are aligned on the epoch so that every replica, started at
    any time, agrees on when (and so which) fires are due.
    """
    elapsed = as_utc(after) - _EPOCH
    return _EPOCH + period * (elapsed // period + 1)


def fire_after(task: ScheduledTask, after: datetime.datetime) -> datetime.datetime | None:
    """The schedule's first fire strictly after ``after``; None when a one-off has passed."""
    after = as_utc(after)
    if task.cron is not None:
        return cron_fire_after(task.cron, task.cron_offset, after)
    if task.time is not None:
        moment = as_utc(task.time)
        return moment if moment > after else None
    return interval_fire_after(interval_of(task), after)


def fires_between(
    task: ScheduledTask,
    start: datetime.datetime,
    end: datetime.datetime,
    limit: int,
) -> list[datetime.datetime]:
    """Fires in ``(start, end]``, oldest first, at most the ``limit`` most recent."""
    found: list[datetime.datetime] = []
    moment = fire_after(task, start)
    while moment is not None and moment <= as_utc(end):
        found.append(moment)
        if len(found) > limit:
            del found[0]
        moment = fire_after(task, moment)
    return found


def following_fire(
    task: ScheduledTask,
    fired_at: datetime.datetime,
    now: datetime.datetime,
) -> datetime.datetime | None:
    """The fire after the one due at ``fired_at``; ``None`` for a one-off.

    Fires missed while the scheduler was late (its loop blocked) are skipped,
    not sent in a burst; catching up after downtime is the ``catchup`` policy.
    """
    fired_at, now = as_utc(fired_at), as_utc(now)
    if task.time is not None:
        return None
    return fire_after(task, max(fired_at, now))


def first_fire(
    task: ScheduledTask,
    since: datetime.datetime,
    now: datetime.datetime,
) -> datetime.datetime:
    """The first fire at or after ``since``, for a scheduler reading the schedule at ``now``.

    Cron: the first match after ``since``. A one-off: its time. An interval:
    the latest aligned fire at or before ``now`` when ``since`` is earlier, else
    the next one after ``now``.
    """
    if task.time is not None:
        return as_utc(task.time)
    if task.interval is not None and as_utc(since) < as_utc(now):
        period = interval_of(task)
        return interval_fire_after(period, as_utc(now) - period)
    moment = fire_after(task, since)
    if moment is None:  # pragma: no cover - only one-offs have no next fire
        raise ScheduleError(f"Schedule {task.schedule_id!r} never fires.")
    return moment

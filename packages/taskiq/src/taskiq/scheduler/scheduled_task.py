"""One schedule: which task to send, with what, and when."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, field_validator, model_validator

#: An ISO 8601 duration such as ``PT3H`` or ``-PT3H30M`` (how JSON stores a timedelta).
_ISO_DURATION = re.compile(r"^[-+]?P(?:\d+(?:\.\d+)?[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?$")
_TIMEDELTA = TypeAdapter(datetime.timedelta)


class ScheduledTask(BaseModel):
    """A task plus exactly one of ``cron``, ``time`` or ``interval``.

    ``cron_offset`` shifts a cron expression into a zone (``"Europe/Paris"``) or
    by a fixed ``timedelta``; naive ``time`` values are taken as UTC.
    ``interval`` is seconds (int) or a ``timedelta``, at least one second.
    ``cron`` takes five fields, or six with seconds first (``"*/5 * * * * *"``).

    Policies, persisted with the schedule by storing sources (`docs/scheduling.md`):

    - ``overlap``: ``allow`` (default) sends every fire; ``skip`` drops a fire
      while the previous run is still queued or running; ``buffer_one`` keeps one
      such fire and sends it when the previous run ends.
    - ``catchup``: what a scheduler starting after downtime sends of the fires it
      missed: ``none`` (default: only one due in the current minute), ``latest``
      (the most recent) or ``all``, within ``catchup_window`` seconds.
    - ``paused``: listed, never fired (``taskiq schedules APP pause ID``).
    """

    task_name: str
    labels: dict[str, Any] = Field(default_factory=dict)
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    schedule_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    #: Task id every firing is sent with (``kicker().with_task_id(...)`` before
    #: ``schedule_by_*``); None gives each firing a fresh id.
    task_id: str | None = None
    cron: str | None = None
    cron_offset: str | datetime.timedelta | None = None
    time: datetime.datetime | None = None
    interval: int | float | datetime.timedelta | None = None
    overlap: Literal["allow", "skip", "buffer_one"] = "allow"
    catchup: Literal["none", "latest", "all"] = "none"
    #: Seconds (or a timedelta) back from start-up that ``latest``/``all`` look at.
    catchup_window: float | datetime.timedelta | None = None
    paused: bool = False

    @field_validator("catchup_window", mode="before")
    @classmethod
    def _window_seconds(cls, value: Any) -> Any:
        """Accept a timedelta (or its ISO form in JSON) and store seconds."""
        if isinstance(value, str) and _ISO_DURATION.match(value):
            value = _TIMEDELTA.validate_python(value)
        if isinstance(value, datetime.timedelta):
            return value.total_seconds()
        return value

    @field_validator("cron_offset", mode="before")
    @classmethod
    def _offset_from_json(cls, value: Any) -> Any:
        """Read back a timedelta offset that a storing source saved as JSON (``"PT3H"``)."""
        if isinstance(value, str) and _ISO_DURATION.match(value) and value not in {"P", "-P"}:
            return _TIMEDELTA.validate_python(value)
        return value

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduledTask:
        triggers = [t for t in (self.cron, self.time, self.interval) if t is not None]
        if len(triggers) != 1:
            raise ValueError(
                "A ScheduledTask needs exactly one of cron=, time= or interval= "
                f"(got {len(triggers)}) for task {self.task_name!r}.",
            )
        if self.interval is not None:
            seconds = _seconds(self.interval)
            if 0 < seconds < 1:
                raise ValueError(
                    f"interval must be at least 1 second, got {seconds:g} s for task "
                    f"{self.task_name!r}; the scheduler fires to the second.",
                )
        if self.catchup_window is not None and not _seconds(self.catchup_window) > 0:
            raise ValueError(
                f"catchup_window must be a positive number of seconds, got "
                f"{self.catchup_window!r} for task {self.task_name!r}.",
            )
        return self


def _seconds(interval: float | datetime.timedelta) -> float:
    if isinstance(interval, datetime.timedelta):
        return interval.total_seconds()
    return float(interval)


#: How far back ``latest`` and ``all`` look when no ``catchup_window`` is set.
DEFAULT_CATCHUP_WINDOW = 3600.0


class CronSpec(BaseModel):
    """A cron expression built field by field, for ``schedule_by_cron``.

    ``CronSpec(minutes=0, hours=9, weekdays="1-5", offset="Europe/Paris")`` is
    ``"0 9 * * 1-5"`` evaluated in Paris time; every field defaults to ``*``.
    """

    minutes: str | int = "*"
    hours: str | int = "*"
    days: str | int = "*"
    months: str | int = "*"
    weekdays: str | int = "*"
    offset: str | datetime.timedelta | None = None

    def to_cron(self) -> str:
        """Return the five-field expression (minute hour day month weekday)."""
        fields = (self.minutes, self.hours, self.days, self.months, self.weekdays)
        return " ".join(str(field) for field in fields)

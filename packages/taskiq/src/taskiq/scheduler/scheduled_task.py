"""One schedule: which task to send, with what, and when."""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, field_validator, model_validator

#: An ISO 8601 duration such as ``PT3H`` or ``-PT3H30M`` (how JSON stores a timedelta).
_ISO_DURATION = re.compile(r"^[-+]?P(?:\d+(?:\.\d+)?[YMWD])*(?:T(?:\d+(?:\.\d+)?[HMS])+)?$")
_TIMEDELTA = TypeAdapter(datetime.timedelta)


class ScheduledTask(BaseModel):
    """A task plus exactly one of ``cron``, ``time`` or ``interval``.

    ``cron_offset`` shifts a cron expression into a zone (``"Europe/Paris"``) or
    by a fixed ``timedelta``; naive ``time`` values are taken as UTC.
    ``interval`` is seconds (int) or a ``timedelta``.
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
        return self


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

"""Configuration errors specific to taskiq_redis (names as in Taskiq's taskiq-redis)."""

from __future__ import annotations

from taskiq.exceptions import ResultBackendError, TaskiqError


class DuplicateExpireTimeSelectedError(ResultBackendError, ValueError):
    """Both ``result_ex_time`` and ``result_px_time`` were given."""

    __template__ = "Choose either result_ex_time (seconds) or result_px_time (ms), not both."


class ExpireTimeMustBeMoreThanZeroError(ResultBackendError, ValueError):
    """A result expiry was zero or negative."""

    __template__ = (
        "result_ex_time and result_px_time must be greater than zero; "
        "omit both for the default expiry."
    )


class ScheduleSourceError(TaskiqError):
    """A Redis schedule source could not read or write its schedules."""

    __template__ = (
        "The Redis schedule source at {address} failed ({schedule_id}): {reason}. "
        "Check that Redis is reachable; the scheduler keeps its last known schedules."
    )

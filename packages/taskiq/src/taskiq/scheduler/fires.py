"""Fire identity and the claims that make each fire go out once across scheduler replicas.

A fire is one schedule at one instant. Every replica computes the same fire
times (cron instants, intervals aligned on the Unix epoch), so a fire has one
identity everywhere: the key ``schedule id + fire time``. Before sending, a
replica claims that key in the result backend's claim store
(`taskiq.control.claims`); only the winner sends. The fire's task id is
derived from the same identity, so a replica that lost the claim can look the
task up after a grace period: no task state means the winner died between
claim and send, and one loser (it claims the resend) sends it with that id.

Overlap policies use a second key per schedule holding the task id of its
last run; the task-state store says whether that run is still active.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import uuid

from taskiq.control.claims import ClaimStore, claims_of
from taskiq.control.task_states import SupportsTaskStates, recorder_of
from taskiq.exceptions import NotSupportedError
from taskiq.result_backends.inmemory_claims import InmemoryClaimStore
from taskiq.scheduler.scheduled_task import DEFAULT_CATCHUP_WINDOW, ScheduledTask

logger = logging.getLogger("taskiq.scheduler")

_FIRE_NAMESPACE = uuid.UUID("0c7e9a52-2f4b-4d61-8a3e-5b9d1f6c7e20")
_PREFIX = "taskiq:schedule"
#: A fire claim outlives any fire time a replica may still try to send.
_MIN_FIRE_TTL = 120.0
#: How long the id of a schedule's last run is kept for overlap checks.
_LAST_RUN_TTL = 7 * 24 * 3600.0
#: How often a buffered fire looks whether the previous run ended.
_BUFFER_POLL = 0.5
_BUFFER_TTL = 30.0


def fire_time_text(fire: datetime.datetime) -> str:
    """The fire time as it appears in keys and logs (UTC, to the microsecond)."""
    return fire.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fire_task_id(task: ScheduledTask, fire: datetime.datetime) -> str:
    """The task id of one fire: the schedule's fixed ``task_id``, else derived from the fire."""
    if task.task_id is not None:
        return task.task_id
    return uuid.uuid5(_FIRE_NAMESPACE, f"{task.schedule_id}@{fire_time_text(fire)}").hex


def lookback(task: ScheduledTask) -> float:
    """Seconds back from start-up that this schedule's catch-up policy looks at."""
    if task.catchup == "none":
        period = task.interval
        if isinstance(period, datetime.timedelta):
            return period.total_seconds()
        return float(period) if period is not None else 60.0
    window = task.catchup_window
    if isinstance(window, datetime.timedelta):
        return window.total_seconds()
    return window or DEFAULT_CATCHUP_WINDOW


class FireGuard:
    """The claims and lookups one scheduler replica makes around each send.

    Without a claim store on the result backend the guard falls back to claims
    in this process (one scheduler is then still correct, replicas are not) and
    says so once. Without task states, crashed-replica recovery and overlap
    policies are off, also said once.
    """

    def __init__(self, broker: object, resend_grace: float = 2.0) -> None:
        self.replica = uuid.uuid4().hex
        self.resend_grace = resend_grace
        self.shared = True
        try:
            self.claims: ClaimStore = claims_of(broker, "scheduler replicas")
        except NotSupportedError as exc:
            logger.warning("%s Claims are kept in this process: run one scheduler only.", exc)
            self.claims = InmemoryClaimStore()
            self.shared = False
        self.states: SupportsTaskStates | None = recorder_of(broker)
        if self.states is None:
            logger.warning(
                "The result backend keeps no task states: a fire claimed by a replica that "
                "died before sending it is lost, and overlap policies act as 'allow'.",
            )

    @property
    def can_recover(self) -> bool:
        """Whether a fire claimed by a dead replica can be detected and resent."""
        return self.shared and self.states is not None

    async def claim(self, task: ScheduledTask, fire: datetime.datetime) -> bool:
        """Claim the fire for this replica; True when it is this replica's to send."""
        ttl = max(_MIN_FIRE_TTL, lookback(task) + 60.0)
        holder = await self.claims.claim(_fire_key(task, fire), self.replica, ttl)
        return holder == self.replica

    async def claim_resend(self, task: ScheduledTask, fire: datetime.datetime) -> bool:
        """After the grace: True when the fire's task was never sent and this replica resends it."""
        if self.states is None:
            return False
        if await self.states.get_task_state(fire_task_id(task, fire)) is not None:
            return False
        key = f"{_fire_key(task, fire)}:resend"
        return await self.claims.claim(key, self.replica, _MIN_FIRE_TTL) == self.replica

    async def mark_not_sent(self, task: ScheduledTask, fire: datetime.datetime) -> None:
        """The winner chose not to send (overlap, a source's veto): no replica resends it."""
        key = f"{_fire_key(task, fire)}:resend"
        await self.claims.claim(key, self.replica, _MIN_FIRE_TTL)

    async def mark_last_fire(self, task: ScheduledTask, fire: datetime.datetime) -> None:
        """Remember the schedule's latest sent fire, so a later start can say what it skipped."""
        key = f"{_PREFIX}:{task.schedule_id}:last-fire"
        previous = await self.claims.holder(key)
        if previous is not None and previous >= fire_time_text(fire):
            return
        if previous is not None:
            await self.claims.release(key, previous)
        await self.claims.claim(key, fire_time_text(fire), _LAST_RUN_TTL)

    async def last_fire(self, task: ScheduledTask) -> datetime.datetime | None:
        """The latest fire of the schedule any replica sent (kept a week), if known."""
        text = await self.claims.holder(f"{_PREFIX}:{task.schedule_id}:last-fire")
        if text is None:
            return None
        moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
        return moment.replace(tzinfo=datetime.timezone.utc)

    async def previous_active(self, task: ScheduledTask) -> bool:
        """Whether the last run of ``task``'s schedule is still queued, started or retrying."""
        if self.states is None:
            return False
        last = await self.claims.holder(_last_run_key(task))
        if last is None:
            return False
        record = await self.states.get_task_state(last)
        return record is not None and not record.status.is_final

    async def mark_sent(self, task: ScheduledTask, task_id: str) -> None:
        """Remember ``task_id`` as the schedule's last run, for the next overlap check."""
        key = _last_run_key(task)
        previous = await self.claims.holder(key)
        if previous is not None and previous != task_id:
            await self.claims.release(key, previous)
        await self.claims.claim(key, task_id, _LAST_RUN_TTL)

    async def wait_buffered(self, task: ScheduledTask) -> bool:
        """``buffer_one``: hold this fire until the last run ends; False when one already waits.

        On True the caller sends, then calls `release_buffer`.
        """
        key = _buffer_key(task)
        if await self.claims.claim(key, self.replica, _BUFFER_TTL) != self.replica:
            return False
        while await self.previous_active(task):
            await asyncio.sleep(_BUFFER_POLL)
            await self.claims.renew(key, self.replica, _BUFFER_TTL)
        return True

    async def release_buffer(self, task: ScheduledTask) -> None:
        """Let the next fire be buffered again."""
        await self.claims.release(_buffer_key(task), self.replica)


def _buffer_key(task: ScheduledTask) -> str:
    return f"{_PREFIX}:{task.schedule_id}:buffered"


def _fire_key(task: ScheduledTask, fire: datetime.datetime) -> str:
    return f"{_PREFIX}:{task.schedule_id}:fire:{fire_time_text(fire)}"


def _last_run_key(task: ScheduledTask) -> str:
    return f"{_PREFIX}:{task.schedule_id}:last-run"

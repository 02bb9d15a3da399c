"""Enforces unique keys, rate limits and concurrency limits in the worker.

The broker adds one `TaskControlMiddleware` by itself when a task declares
``unique``, ``rate_limit`` or ``concurrency``; add one yourself to set the
broker-wide ``global_concurrency`` (a bound on all tasks of the broker that
run at once across every worker process).

State lives in the result backend, shared by all workers: a unique key and a
concurrency slot are claims (`taskiq.control.claims`) held by the task id and
renewed every ``lease / 3`` seconds while the task runs, so a SIGKILLed
worker gives them back within ``lease`` seconds; a rate limit is a sequence
of turns (`taskiq.control.pacing`). A task that must wait is not kept in a
worker slot: it is sent again, same task id, with a ``delay`` label (the
broker's delayed delivery), and its delivery is acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from taskiq.abc.middleware import TaskiqMiddleware
from taskiq.context import TaskRequeuedError
from taskiq.control import task_options as opt
from taskiq.control.claims import ClaimStore, claims_of
from taskiq.control.pacing import PaceStore, pacing_of
from taskiq.message import TaskiqMessage
from taskiq.result import TaskiqResult

logger = logging.getLogger("taskiq.task_control")

#: Set on a deferred message whose rate-limit turn is already reserved.
TURN_LABEL = "X-Taskiq-rate-turn"
#: Counts how many times a message was deferred by a limit.
DEFERRED_LABEL = "X-Taskiq-deferred"
#: Turns closer than this run at once rather than through delayed delivery.
_NOW = 0.005


def unique_claim_key(task_name: str, key: str) -> str:
    """Where the unique key of a call of ``task_name`` is claimed (as `unique_send` does)."""
    return f"taskiq:unique:{task_name}:{key}"


def slot_keys(task_name: str, labels: dict[str, Any], count: int) -> list[str]:
    """The ``count`` concurrency slots of ``task_name`` for this call's limit key."""
    scope = labels.get(opt.LIMIT_KEY) or "*"
    return [f"taskiq:limit:{task_name}:{scope}:{i}" for i in range(count)]


def global_slot_keys(count: int) -> list[str]:
    """The broker-wide concurrency slots."""
    return [f"taskiq:limit:*global*:{i}" for i in range(count)]


class TaskControlMiddleware(TaskiqMiddleware):
    """Holds keys and slots for the tasks running in this worker (see the module)."""

    def __init__(
        self,
        global_concurrency: int | None = None,
        lease: float = 30.0,
        retry_delay: tuple[float, float] = (0.2, 1.0),
    ) -> None:
        super().__init__()
        if global_concurrency is not None and (
            type(global_concurrency) is not int or global_concurrency < 1
        ):
            raise ValueError(f"global_concurrency must be an int >= 1, not {global_concurrency!r}.")
        if not lease >= 1.0:
            raise ValueError(f"lease must be at least 1 s, not {lease!r}.")
        self.global_concurrency = global_concurrency
        self.lease = lease
        self.retry_delay = retry_delay
        self._held: dict[str, list[str]] = {}
        self._renewers: dict[str, asyncio.Task[None]] = {}

    @property
    def claims(self) -> ClaimStore:
        """The broker's claim store; `NotSupportedError` when its backend has none."""
        return claims_of(self.broker, "unique tasks and concurrency limits")

    @property
    def pacing(self) -> PaceStore:
        """The broker's pace store; `NotSupportedError` when its backend has none."""
        return pacing_of(self.broker, "rate limits")

    async def startup(self) -> None:
        """Fail at start-up, not at the first task, when the backend cannot coordinate."""
        self.claims  # noqa: B018 - raises NotSupportedError
        if any(t.labels.get(opt.RATE_LIMIT) for t in self.broker.get_all_tasks().values()):
            self.pacing  # noqa: B018

    async def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        """Release or keep the unique key, then admit the task or defer it."""
        labels = message.labels
        self._declared_limits(message)
        unique = labels.get(opt.UNIQUE_KEY)
        until = labels.get(opt.UNIQUE_UNTIL, "finished")
        if unique is not None and until == "queued":
            await self._release_unique(message)
        slots = await self._admit(message)
        held = list(slots)
        if unique is not None and until == "started":
            await self._release_unique(message)
        elif unique is not None and until == "finished":
            key = unique_claim_key(message.task_name, str(unique))
            if await self.claims.renew(key, message.task_id, self.lease):
                held.append(key)
        labels.pop(TURN_LABEL, None)
        if labels.pop(DEFERRED_LABEL, None) is not None:
            labels.pop("delay", None)
        self._hold(message.task_id, held)
        return message

    async def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        """Give back the slots and (for ``unique_until="finished"``) the unique key."""
        renewer = self._renewers.pop(message.task_id, None)
        if renewer is not None:
            renewer.cancel()
        for key in self._held.pop(message.task_id, []):
            await self.claims.release(key, message.task_id)

    def _declared_limits(self, message: TaskiqMessage) -> None:
        """Limits declared on this worker's task apply also to calls sent by name."""
        task = self.broker.find_task(message.task_name)
        for name in (opt.RATE_LIMIT, opt.CONCURRENCY):
            if task is not None and task.labels.get(name) is not None:
                message.labels.setdefault(name, task.labels[name])

    # -- admission -------------------------------------------------------------

    async def _admit(self, message: TaskiqMessage) -> list[str]:
        """The slots taken for ``message``; defers it (raises) when over a limit."""
        labels = message.labels
        rate = labels.get(opt.RATE_LIMIT)
        if rate is not None and TURN_LABEL not in labels:
            await self._take_turn(message, opt.parse_rate(rate))
        taken: list[str] = []
        concurrency = labels.get(opt.CONCURRENCY)
        if concurrency is not None:
            taken += await self._take_slot(
                message, slot_keys(message.task_name, labels, concurrency)
            )
        if self.global_concurrency is not None:
            taken += await self._take_slot(
                message, global_slot_keys(self.global_concurrency), taken
            )
        return taken

    async def _take_turn(self, message: TaskiqMessage, rate: opt.Rate) -> None:
        scope = message.labels.get(opt.LIMIT_KEY) or "*"
        wait = await self.pacing.reserve(f"taskiq:rate:{message.task_name}:{scope}", rate.interval)
        if wait > _NOW:
            message.labels[TURN_LABEL] = 1
            await self._defer(message, wait)

    async def _take_slot(
        self,
        message: TaskiqMessage,
        keys: list[str],
        taken: list[str] | None = None,
    ) -> list[str]:
        start = random.randrange(len(keys))
        for key in keys[start:] + keys[:start]:
            if await self.claims.claim(key, message.task_id, self.lease) == message.task_id:
                return [key]
        for key in taken or []:
            await self.claims.release(key, message.task_id)
        await self._defer(message, random.uniform(*self.retry_delay))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _defer(self, message: TaskiqMessage, wait: float) -> None:
        """Send ``message`` again in ``wait`` s (same task id) and end this run."""
        broker = self.broker
        message.labels[DEFERRED_LABEL] = int(message.labels.get(DEFERRED_LABEL, 0)) + 1
        if _can_delay(broker):
            message.labels["delay"] = round(wait, 3)
        else:  # no delayed delivery: the wait holds this worker slot (logged)
            logger.warning(
                "%s cannot delay deliveries; task %s waits %.2f s for its limit in the worker.",
                type(broker).__name__,
                message.task_id,
                wait,
            )
            await asyncio.sleep(wait)
        await broker.kick(broker.formatter.dumps(message))
        raise TaskRequeuedError(task_id=message.task_id)

    # -- leases ----------------------------------------------------------------

    async def _release_unique(self, message: TaskiqMessage) -> None:
        key = unique_claim_key(message.task_name, str(message.labels[opt.UNIQUE_KEY]))
        await self.claims.release(key, message.task_id)

    def _hold(self, task_id: str, keys: list[str]) -> None:
        if not keys:
            return
        self._held[task_id] = keys
        self._renewers[task_id] = asyncio.ensure_future(self._renew(task_id, keys))

    async def _renew(self, task_id: str, keys: list[str]) -> None:
        """Renew ``keys`` every lease/3 s until the task ends (then this is cancelled)."""
        while True:
            await asyncio.sleep(self.lease / 3)
            for key in keys:
                with contextlib.suppress(Exception):
                    if not await self.claims.renew(key, task_id, self.lease):
                        logger.warning(
                            "Task %s lost its claim on %s (lease ran out).", task_id, key
                        )


def _can_delay(broker: Any) -> bool:
    from taskiq.brokers.inmemory_broker import InMemoryBroker

    return bool(getattr(broker, "supports_delayed_delivery", False)) or isinstance(
        broker, InMemoryBroker
    )

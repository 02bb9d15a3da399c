"""Cancellation: the request a client stores, and what asking to cancel tells it.

A request is a claim (`taskiq.control.claims`) on ``cancel:<task id>`` that no
one releases: it lives in the result backend, so it reaches a worker that was
not running when it was made. Its ttl is at least the backend's result ttl
(`request_ttl`), so a task waiting in a queue or for its delay to pass is
still skipped when it finally arrives. Workers read the requests: a task whose
request exists is acked without running; a running one is told within one
poll (`taskiq.receiver.cancelling`).

`request_cancel` answers with a `CancelOutcome` and never raises for a task
that is finished or unknown; only a backend that cannot hold claims raises
`NotSupportedError`, in one line.
"""

from __future__ import annotations

import asyncio
import enum
import os
import socket
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from taskiq.control.claims import ClaimStore, SupportsClaims
from taskiq.control.task_states import SupportsTaskStates, TaskStatus
from taskiq.exceptions import NotSupportedError, TaskCancelledError

#: Prefix of a request's claim key; the rest is the task id.
CANCEL_KEY_PREFIX = "cancel:"
#: The shortest life of a request (seconds): a week, for backends whose results never expire.
MIN_REQUEST_TTL = 7 * 24 * 3600.0


class CancelOutcome(str, enum.Enum):
    """What asking to cancel a task did (the values are what ``--json`` prints)."""

    #: The request is stored: the task will not start, or is told to stop.
    REQUESTED = "requested"
    #: The task had already succeeded, failed or been dead-lettered: nothing changed.
    ALREADY_FINISHED = "already_finished"
    #: The task was already cancelled: nothing changed.
    ALREADY_CANCELLED = "already_cancelled"
    #: The backend knows nothing of this id (never sent, expired, or sent with task
    #: states off). The request is stored anyway, so the task never starts if it comes.
    UNKNOWN = "unknown"


def cancel_key(task_id: str) -> str:
    """The claim key of ``task_id``'s request."""
    return CANCEL_KEY_PREFIX + task_id


def cancel_store_of(target: object) -> ClaimStore:
    """The claim store holding requests: of a broker's result backend, or of a backend.

    Raises `NotSupportedError` when the backend cannot hold claims.
    """
    backend = getattr(target, "result_backend", target)
    if not isinstance(backend, SupportsClaims):
        name = type(backend).__name__
        raise NotSupportedError(
            f"Cannot cancel tasks: the result backend {name} cannot hold claims. Use a "
            "Redis, NATS key-value or in-memory result backend.",
            feature="cancellation",
            implementation=name,
        )
    return backend.claim_store()


def request_ttl(backend: object) -> float:
    """How long a request lives: the backend's result ttl, and never under a week."""
    seconds = [MIN_REQUEST_TTL]
    for name, scale in (("result_ttl", 1.0), ("result_ex_time", 1.0), ("result_px_time", 0.001)):
        value = getattr(backend, name, None)
        if isinstance(value, (int, float)) and value > 0:
            seconds.append(float(value) * scale)
    return max(seconds)


async def request_cancel(target: object, task_id: str) -> CancelOutcome:
    """Ask that ``task_id`` never starts, or stops; see `CancelOutcome` for the answer.

    ``target`` is a broker or a result backend. A finished task is left alone;
    for any other the request is stored (asking twice is harmless).
    """
    if not isinstance(task_id, str) or not task_id:
        raise ValueError(f"A task id must be a non-empty string, not {task_id!r}.")
    backend = getattr(target, "result_backend", target)
    store = cancel_store_of(backend)
    status = await _status(backend, task_id)
    if status is TaskStatus.CANCELLED:
        return CancelOutcome.ALREADY_CANCELLED
    if status is not None and status.is_final:
        return CancelOutcome.ALREADY_FINISHED
    await store.claim(cancel_key(task_id), _requester(), request_ttl(backend))
    return CancelOutcome.UNKNOWN if status is None else CancelOutcome.REQUESTED


async def _status(backend: Any, task_id: str) -> TaskStatus | None:
    """The task's status from its state, else from its stored result; None if unknown."""
    if isinstance(backend, SupportsTaskStates):
        record = await backend.get_task_state(task_id)
        if record is not None:
            return record.status
    if not await backend.is_result_ready(task_id):
        # Without task states a queued task looks like an unknown one: say "requested".
        return None if isinstance(backend, SupportsTaskStates) else TaskStatus.QUEUED
    result = await backend.get_result(task_id)
    if isinstance(result.error, TaskCancelledError):
        return TaskStatus.CANCELLED
    return TaskStatus.FAILED if result.is_err else TaskStatus.SUCCEEDED


def _requester() -> str:
    """The claim's owner: who asked, for someone reading the store by hand."""
    return f"cancel-requested-by:{socket.gethostname()}:{os.getpid()}"


@runtime_checkable
class SupportsManyHolders(Protocol):
    """A claim store that reads many keys in one round trip (Redis ``MGET``, say)."""

    async def holders(self, keys: Sequence[str]) -> list[str | None]:
        """The holder of each key, in order (None: free)."""


async def requested_among(store: ClaimStore, task_ids: Sequence[str]) -> set[str]:
    """Which of ``task_ids`` have a request: one batch when the store can, else concurrently."""
    keys = [cancel_key(task_id) for task_id in task_ids]
    if isinstance(store, SupportsManyHolders):
        holders = await store.holders(keys)
    elif len(keys) == 1:  # the common case: no task per key
        holders = [await store.holder(keys[0])]
    else:
        holders = list(await asyncio.gather(*(store.holder(key) for key in keys)))
    pairs = zip(task_ids, holders, strict=True)
    return {task_id for task_id, holder in pairs if holder is not None}

"""The sending side of unique tasks: claim the call's key, or find who holds it.

A unique call's key (``unique_key`` label, computed by `task_options`) is
claimed by the new task id for ``unique_ttl`` seconds before anything is
sent; when another task id holds it, nothing is sent and the caller gets a
handle on that task. The worker releases the key at the end of the window
(`taskiq.middlewares.task_control`).
"""

from __future__ import annotations

from typing import Any

from taskiq.control import task_options as opt
from taskiq.control.claims import claims_of
from taskiq.message import TaskiqMessage


def _key(message: TaskiqMessage) -> str | None:
    key = message.labels.get(opt.UNIQUE_KEY)
    return None if key is None else f"taskiq:unique:{message.task_name}:{key}"


async def claim_unique(broker: Any, message: TaskiqMessage) -> str | None:
    """The task id holding ``message``'s unique key, or None when this call took it."""
    key = _key(message)
    if key is None:
        return None
    store = claims_of(broker, "unique tasks")
    ttl = float(message.labels.get(opt.UNIQUE_TTL) or opt.DEFAULT_UNIQUE_TTL)
    holder = await store.claim(key, message.task_id, ttl)
    return None if holder == message.task_id else holder


async def release_unique(broker: Any, message: TaskiqMessage) -> None:
    """Give the key back after a failed send, so the next call can send."""
    key = _key(message)
    if key is not None:
        await claims_of(broker, "unique tasks").release(key, message.task_id)

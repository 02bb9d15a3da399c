"""Find a task's dead letter by task id: how the task page shows and replays a dead task.

Stores index dead letters by their own id, not by task id, so this reads pages, oldest
first, up to `SCAN_LIMIT` per queue: a bound on the work one page view can cause.
"""

from __future__ import annotations

from taskiq.control import DeadLetter, DeadLetterStore, dead_letters_of
from taskiq.exceptions import NotSupportedError

#: Dead letters read per queue before giving up.
SCAN_LIMIT = 1000


async def find_dead_letter(broker: object, queues: list[str], task_id: str) -> DeadLetter | None:
    """The dead letter of ``task_id`` in any of ``queues`` (None: not found within the limit)."""
    names: list[str | None] = list(queues) or [None]
    for queue in names:
        try:
            store = dead_letters_of(broker, queue)
        except NotSupportedError:
            return None
        found = await _scan(store, task_id)
        if found is not None:
            return found
    return None


async def _scan(store: DeadLetterStore, task_id: str) -> DeadLetter | None:
    cursor: str | None = None
    seen = 0
    while seen < SCAN_LIMIT:
        page = await store.list(limit=100, cursor=cursor)
        for letter in page.letters:
            if letter.task_id == task_id:
                return letter
        seen += len(page.letters)
        if page.next_cursor is None:
            return None
        cursor = page.next_cursor
    return None

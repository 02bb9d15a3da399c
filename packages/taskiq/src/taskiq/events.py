"""Lifecycle events a broker fires; handlers receive the broker's `TaskiqState`."""

from __future__ import annotations

import enum


class TaskiqEvents(str, enum.Enum):
    """Which side of the system is starting or stopping.

    CLIENT_* fire in processes that send tasks, WORKER_* in worker processes
    (``broker.is_worker_process``), so a handler can open the pool only the
    worker needs.
    """

    CLIENT_STARTUP = "CLIENT_STARTUP"
    CLIENT_SHUTDOWN = "CLIENT_SHUTDOWN"
    WORKER_STARTUP = "WORKER_STARTUP"
    WORKER_SHUTDOWN = "WORKER_SHUTDOWN"

"""The control plane: contracts every broker speaks so operators can see and act.

One module per concept: `dead_letters` (and its reason vocabulary), `workers`.
Queue inspection, task states, live workers and events join it here.
"""

from taskiq.control.dead_letter_reasons import (
    REJECTED_BY_TASK,
    ReasonKind,
    failed_times,
    malformed,
    reason_kind,
    unknown_task,
)
from taskiq.control.dead_letters import (
    DEFAULT_PAGE_SIZE,
    DeadLetter,
    DeadLetterPage,
    DeadLetterStore,
    SupportsDeadLetters,
    dead_letters_of,
    log_dead_lettered,
)
from taskiq.control.workers import (
    DEFAULT_HEARTBEAT_INTERVAL,
    MISSED_BEATS,
    RunningTaskInfo,
    SupportsWorkerRegistry,
    WorkerId,
    WorkerInfo,
    WorkerRegistry,
    workers_of,
)

__all__ = [
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_PAGE_SIZE",
    "MISSED_BEATS",
    "REJECTED_BY_TASK",
    "DeadLetter",
    "DeadLetterPage",
    "DeadLetterStore",
    "ReasonKind",
    "RunningTaskInfo",
    "SupportsDeadLetters",
    "SupportsWorkerRegistry",
    "WorkerId",
    "WorkerInfo",
    "WorkerRegistry",
    "dead_letters_of",
    "failed_times",
    "log_dead_lettered",
    "malformed",
    "reason_kind",
    "unknown_task",
    "workers_of",
]

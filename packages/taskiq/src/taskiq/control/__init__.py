"""The control plane: contracts every broker speaks so operators can see and act.

One module per concept: `dead_letters` (and its reason vocabulary), `queues`
(depth and purge), `workers` (heartbeats), `task_states`, `claims` (keys held by
one owner for a while: what task control and the scheduler coordinate with), `cancellation`
(requests to cancel a task and their `CancelOutcome`), `events` (the live feed of what
workers do).
"""

from taskiq.control.cancellation import CancelOutcome, cancel_store_of, request_cancel
from taskiq.control.claims import ClaimStore, SupportsClaims, claims_of
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
from taskiq.control.events import (
    Event,
    EventFeed,
    EventKind,
    EventStream,
    SupportsEvents,
    events_of,
)
from taskiq.control.queues import (
    QueueDepth,
    QueueInspector,
    SupportsQueueInspection,
    queues_of,
)
from taskiq.control.task_states import (
    SupportsTaskStates,
    TaskStateRecord,
    TaskStatus,
    TaskTransition,
    on_dead_lettered,
    task_states_of,
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
    "CancelOutcome",
    "ClaimStore",
    "DeadLetter",
    "DeadLetterPage",
    "DeadLetterStore",
    "Event",
    "EventFeed",
    "EventKind",
    "EventStream",
    "QueueDepth",
    "QueueInspector",
    "ReasonKind",
    "RunningTaskInfo",
    "SupportsClaims",
    "SupportsDeadLetters",
    "SupportsEvents",
    "SupportsQueueInspection",
    "SupportsTaskStates",
    "SupportsWorkerRegistry",
    "TaskStateRecord",
    "TaskStatus",
    "TaskTransition",
    "WorkerId",
    "WorkerInfo",
    "WorkerRegistry",
    "cancel_store_of",
    "claims_of",
    "dead_letters_of",
    "events_of",
    "failed_times",
    "log_dead_lettered",
    "malformed",
    "on_dead_lettered",
    "queues_of",
    "reason_kind",
    "request_cancel",
    "task_states_of",
    "unknown_task",
    "workers_of",
]

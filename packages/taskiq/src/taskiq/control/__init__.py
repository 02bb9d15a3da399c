"""The control plane: contracts every broker speaks so operators can see and act.

One module per concept: `dead_letters` (and its reason vocabulary) and
`task_states`. Queue inspection, live workers and events join it here.
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
from taskiq.control.task_states import (
    SupportsTaskStates,
    TaskStateRecord,
    TaskStatus,
    TaskTransition,
    WorkerRef,
    on_dead_lettered,
    task_states_of,
)

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "REJECTED_BY_TASK",
    "DeadLetter",
    "DeadLetterPage",
    "DeadLetterStore",
    "ReasonKind",
    "SupportsDeadLetters",
    "SupportsTaskStates",
    "TaskStateRecord",
    "TaskStatus",
    "TaskTransition",
    "WorkerRef",
    "dead_letters_of",
    "failed_times",
    "log_dead_lettered",
    "malformed",
    "on_dead_lettered",
    "reason_kind",
    "task_states_of",
    "unknown_task",
]

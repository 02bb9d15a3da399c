"""The receiver's shutdown account: what was running at stop, and what became of it.

Two lines on logger ``taskiq.receiver``, written when the receiver stops
(``finish_event``, i.e. SIGTERM/SIGINT in a worker) or its stream ends:

- at stop, how many tasks are running, how many fetched deliveries wait, and
  how long the running ones may take (``wait_tasks_timeout``);
- at exit, how many tasks finished (since start, and of those running at stop)
  and how many deliveries were handed back to the broker unsettled (never
  started, or cancelled past the timeout); WARNING when any was cancelled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

logger = logging.getLogger("taskiq.receiver")


@dataclass
class ShutdownAccount:
    """Counts taken when stopping begins; `close` logs the outcome."""

    running: int
    waiting: int
    finished_before: int

    @classmethod
    def open(
        cls,
        running: int,
        waiting: int,
        finished: int,
        wait_tasks_timeout: float | None,
    ) -> ShutdownAccount:
        """Log the stop line and remember the counts."""
        if wait_tasks_timeout is None:
            limit = "as long as they need (no --wait-tasks-timeout)"
        else:
            limit = f"up to {wait_tasks_timeout:g} s (--wait-tasks-timeout)"
        logger.info(
            "Stopping: %d tasks running, %d fetched deliveries waiting; "
            "the running tasks may take %s.",
            running,
            waiting,
            limit,
        )
        return cls(running, waiting, finished)

    def close(self, finished: int, unstarted: int, cancelled: int) -> None:
        """Log the exit line: finished tasks and deliveries handed back."""
        level = logging.WARNING if cancelled else logging.INFO
        logger.log(
            level,
            "Stopped: %d tasks finished (%d of the %d running at stop); %d deliveries "
            "handed back to the broker unacknowledged (%d never started, %d cancelled "
            "after --wait-tasks-timeout).",
            finished,
            finished - self.finished_before,
            self.running,
            unstarted + cancelled,
            unstarted,
            cancelled,
        )

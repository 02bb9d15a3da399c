"""Run taskiq's long-lived parts inside an event loop you already own.

Useful when brokers are created at runtime, or when a web application wants a
worker in its own process instead of a separate ``taskiq worker``.
"""

from taskiq.api.receiver import run_receiver_task
from taskiq.api.scheduler import run_scheduler_task

__all__ = ["run_receiver_task", "run_scheduler_task"]

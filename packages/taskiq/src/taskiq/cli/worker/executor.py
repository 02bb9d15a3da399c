"""The pool that runs a worker's synchronous tasks.

Threads by default: sync functions doing I/O release the GIL. A process pool
(``--use-process-pool``) suits CPU-bound functions; it starts its processes
with ``spawn`` so that a pool never inherits locks held by the worker's threads,
and replaces a process that was ended to stop a cancelled task (`process_pool`).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, ThreadPoolExecutor

from taskiq.cli.worker.process_pool import ReplacingProcessPool


def build_executor(
    max_threads: int | None = None,
    use_process_pool: bool = False,
    max_processes: int | None = None,
) -> Executor:
    """A thread pool of ``max_threads``, or a process pool of ``max_processes``.

    ``None`` leaves the size to `concurrent.futures` (a few per CPU for
    threads, one per CPU for processes).
    """
    if use_process_pool:
        return ReplacingProcessPool(max_processes, multiprocessing.get_context("spawn"))
    return ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="taskiq-sync")

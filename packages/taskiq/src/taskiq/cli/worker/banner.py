"""The start-up banner: what a worker runs, read from where, with which settings.

A worker child logs it once its broker has started, on logger ``taskiq.worker``
at INFO, as one multi-line record. The child of slot 0 logs the whole banner;
the others (same application, same flags) log one line. The broker describes
itself through `AsyncBroker.describe`; a ``url`` it gives is masked again here,
so a password never reaches the log even from a broker that forgot to mask it.
"""

from __future__ import annotations

import logging
import multiprocessing
from typing import TYPE_CHECKING

from taskiq.urls import mask_url

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker
    from taskiq.cli.worker.args import WorkerArgs

logger = logging.getLogger("taskiq.worker")

#: Past this many registered tasks the banner gives their number only.
MAX_LISTED_TASKS = 20


def log_banner(broker: AsyncBroker, args: WorkerArgs) -> None:
    """Log the banner (slot 0) or the one-line ready notice (other slots)."""
    name = multiprocessing.current_process().name
    if name.startswith("worker-") and not name.startswith("worker-0:"):
        logger.info(
            "Ready: %s, %d tasks (banner: see worker-0).",
            type(broker).__name__,
            len(broker.get_all_tasks()),
        )
        return
    rows = banner_rows(broker, args)
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label + ':':<{width + 1}} {value}" for label, value in rows]
    logger.info("taskiq worker ready\n%s", "\n".join(lines))


def banner_rows(broker: AsyncBroker, args: WorkerArgs) -> list[tuple[str, str]]:
    """The banner as (label, value) rows, in the order they are shown."""
    rows = [("broker", type(broker).__name__)]
    for label, value in broker.describe().items():
        rows.append((label, mask_url(str(value)) if label == "url" else str(value)))
    rows.append(("result backend", type(broker.result_backend).__name__))
    rows.append(("tasks", _tasks(sorted(broker.get_all_tasks()))))
    rows.extend(_settings(args))
    return rows


def _tasks(names: list[str]) -> str:
    if not names:
        return "none registered (check the modules given to the worker)"
    if len(names) > MAX_LISTED_TASKS:
        return f"{len(names)} registered"
    return f"{len(names)}: {', '.join(names)}"


def _settings(args: WorkerArgs) -> list[tuple[str, str]]:
    max_async = str(args.max_async_tasks)
    if args.max_async_tasks_jitter:
        max_async += f" (+ up to {args.max_async_tasks_jitter} jitter)"
    wait = args.wait_tasks_timeout
    wait_text = "none (on stop, running tasks take as long as they need)"
    return [
        ("processes", str(args.workers)),
        ("max-async-tasks", max_async),
        ("max-prefetch", str(args.max_prefetch)),
        ("ack type", args.ack_type.value),
        ("wait-tasks-timeout", wait_text if wait is None else f"{wait:g} s"),
    ]

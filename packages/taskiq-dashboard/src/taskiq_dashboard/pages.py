"""The pages: overview, task lookup, one task, dead letters. Reading only; no side effects."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from taskiq.control import DeadLetterPage, TaskStatus, dead_letters_of, queues_of
from taskiq.exceptions import NotSupportedError

from taskiq_dashboard.chart import chart_of
from taskiq_dashboard.dead_letter_lookup import find_dead_letter
from taskiq_dashboard.sampling import Snapshot
from taskiq_dashboard.state import dashboard_of
from taskiq_dashboard.task_view import task_view

#: Dead letters one page lists.
PAGE_SIZE = 50


async def overview(request: Request) -> Response:
    """Queues, the chart and workers; the live fragment then replaces itself every second."""
    dashboard = dashboard_of(request)
    snapshot = await dashboard.sampler.latest()
    return dashboard.render(request, "overview.html", **live_context(dashboard.sampler, snapshot))


def live_context(sampler: object, snapshot: Snapshot) -> dict[str, Any]:
    """What ``_live.html`` needs."""
    history = getattr(sampler, "history", ())
    return {"snapshot": snapshot, "chart": chart_of(list(history))}


async def tasks(request: Request) -> Response:
    """The lookup form; ``?id=`` goes to that task's page."""
    dashboard = dashboard_of(request)
    task_id = request.query_params.get("id", "").strip()
    if task_id:
        base = request.scope.get("root_path", "").rstrip("/")
        return RedirectResponse(f"{base}/tasks/{_quote(task_id)}", status_code=303)
    snapshot = await dashboard.sampler.latest()
    running = [(worker, task) for worker in snapshot.workers for task in worker.running]
    return dashboard.render(
        request, "tasks.html", running=running, ttl=result_ttl(dashboard.broker)
    )


async def task(request: Request) -> Response:
    """One task: state, timeline, result or error, progress, actions."""
    dashboard = dashboard_of(request)
    task_id = request.path_params["task_id"]
    snapshot = await dashboard.sampler.latest()
    running_on = next(
        (
            str(worker.id)
            for worker in snapshot.workers
            for item in worker.running
            if item.task_id == task_id
        ),
        None,
    )
    view = await task_view(dashboard.broker, task_id, running_on)
    letter = None
    if view.record is not None and view.record.status is TaskStatus.DEAD_LETTERED:
        queues = queue_names(dashboard.broker)
        letter = await find_dead_letter(dashboard.broker, queues, task_id)
    status = 200 if view.known else 404
    ttl = result_ttl(dashboard.broker)
    return dashboard.render(request, "task.html", status=status, view=view, ttl=ttl, letter=letter)


async def dead_letters(request: Request) -> Response:
    """One page of a queue's dead letters, oldest first, with replay and delete."""
    dashboard = dashboard_of(request)
    queues = queue_names(dashboard.broker)
    queue = request.query_params.get("queue") or (queues[0] if queues else None)
    cursor = request.query_params.get("cursor") or None
    try:
        check_queue(queues, queue)
        store = dead_letters_of(dashboard.broker, queue)
        page: DeadLetterPage | None = await store.list(limit=PAGE_SIZE, cursor=cursor)
        count, error = await store.count(), None
    except (NotSupportedError, ValueError) as exc:
        page, count, error = None, 0, str(exc)
    return dashboard.render(
        request,
        "dead_letters.html",
        status=200 if error is None else 400,
        queues=queues,
        queue=queue or "",
        page=page,
        count=count,
        error=error,
    )


def check_queue(known: list[str], queue: str | None) -> None:
    """A `ValueError` naming the known queues for one the broker does not use."""
    if known and queue is not None and queue not in known:
        raise ValueError(f"Unknown queue {queue!r}; this broker's queues: {', '.join(known)}.")


def queue_names(broker: object) -> list[str]:
    try:
        return list(queues_of(broker).queue_names())
    except NotSupportedError:
        return []


def result_ttl(broker: object) -> str:
    """How long this backend keeps results and states, in words."""
    backend = getattr(broker, "result_backend", None)
    seconds = getattr(backend, "result_ex_time", None)
    millis = getattr(backend, "result_px_time", None)
    if isinstance(seconds, int):
        return f"{seconds} s"
    if isinstance(millis, int):
        return f"{millis / 1000:g} s"
    return "as long as the result backend keeps them"


def _quote(task_id: str) -> str:
    return quote(task_id, safe="")

"""The actions (POST only): replay, delete, purge, cancel. Each checks mode and CSRF first.

An action answers with a 303 to the page it came from (its ``back`` field, a path of
the dashboard) or to the page of what it changed, carrying a one-line notice;
a failure is logged and becomes the notice, never a stack trace in the page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, quote, urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from taskiq.control import dead_letters_of, queues_of
from taskiq.exceptions import NotSupportedError, TaskiqError

from taskiq_dashboard.pages import check_queue, queue_names
from taskiq_dashboard.security import CSRF_FIELD, csrf_ok
from taskiq_dashboard.state import Dashboard, dashboard_of

logger = logging.getLogger("taskiq.dashboard")

Form = dict[str, list[str]]
#: An action: does its work, returns (page to go back to, notice).
Work = Callable[[Dashboard, Form], Awaitable[tuple[str, str]]]


def action(work: Work) -> Callable[[Request], Awaitable[Response]]:
    """Wrap ``work`` with the read-only and CSRF checks, the redirect and the error notice."""

    async def endpoint(request: Request) -> Response:
        dashboard = dashboard_of(request)
        if dashboard.read_only:
            return PlainTextResponse("The dashboard is read-only.", status_code=403)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        if not csrf_ok(request, _one(form, CSRF_FIELD)):
            logger.warning("Dashboard: refused a %s without a valid CSRF token", request.url.path)
            return PlainTextResponse("Invalid or missing CSRF token.", status_code=403)
        try:
            page, notice = await work(dashboard, form)
            dashboard.sampler.invalidate()
            page = _local(_one(form, "back")) if _one(form, "back") else page
        except (TaskiqError, ValueError, OSError) as exc:
            logger.warning("Dashboard: %s failed: %s", request.url.path, exc)
            page, notice = _local(_one(form, "back")), f"Failed: {exc}"
        base = request.scope.get("root_path", "").rstrip("/")
        separator = "&" if "?" in page else "?"
        target = f"{base}{page}{separator}{urlencode({'notice': notice})}"
        return RedirectResponse(target, status_code=303)

    return endpoint


def _local(path: str | None) -> str:
    """``path`` if it is a page of this dashboard, else the overview (never another site)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


def _one(form: Form, name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _queue(dashboard: Dashboard, form: Form) -> str | None:
    queue = _one(form, "queue") or None
    check_queue(queue_names(dashboard.broker), queue)
    return queue


def _dead_letter_page(queue: str | None) -> str:
    return "/dead-letters" + (f"?queue={quote(queue, safe='')}" if queue else "")


async def replay(dashboard: Dashboard, form: Form) -> tuple[str, str]:
    """Replay the selected dead letters (``id`` fields), or every one with ``all=1``."""
    queue = _queue(dashboard, form)
    store = dead_letters_of(dashboard.broker, queue)
    if _one(form, "all") == "1":
        count = await store.replay_all()
    else:
        count = await store.replay(_ids(form))
    return _dead_letter_page(queue), f"Replayed {count} dead letter(s)."


async def delete(dashboard: Dashboard, form: Form) -> tuple[str, str]:
    """Delete the selected dead letters, or every one with ``all=1``."""
    queue = _queue(dashboard, form)
    store = dead_letters_of(dashboard.broker, queue)
    if _one(form, "all") == "1":
        count = await store.delete_all()
    else:
        count = await store.delete(_ids(form))
    return _dead_letter_page(queue), f"Deleted {count} dead letter(s)."


def _ids(form: Form) -> list[str]:
    """The one row's ``one`` button if that was pressed, else the ticked ``id`` boxes."""
    one = _one(form, "one")
    ids = [one] if one else form.get("id", [])
    if not ids:
        raise ValueError("select at least one dead letter")
    return ids


async def purge(dashboard: Dashboard, form: Form) -> tuple[str, str]:
    """Delete the ready messages of one queue."""
    queue = _queue(dashboard, form)
    count = await queues_of(dashboard.broker).purge(queue)
    return "/", f"Purged {count} ready message(s) from {queue or 'the default queue'}."


async def cancel(dashboard: Dashboard, form: Form) -> tuple[str, str]:
    """Ask the broker to cancel one task (offered only when the broker has ``cancel``)."""
    task_id = _one(form, "task_id")
    if not task_id:
        raise ValueError("no task id given")
    if not dashboard.can_cancel:
        raise NotSupportedError(
            f"{type(dashboard.broker).__name__} cannot cancel tasks.",
            feature="cancel",
            implementation=type(dashboard.broker).__name__,
        )
    outcome = await dashboard.broker.cancel(task_id)
    text = getattr(outcome, "value", outcome)
    return f"/tasks/{quote(task_id, safe='')}", f"Cancel: {text}."

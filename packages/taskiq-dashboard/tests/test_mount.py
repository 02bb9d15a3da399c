"""The dashboard mounted in a user's Starlette app: every link and form stays under the mount."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from taskiq import InMemoryBroker
from taskiq_dashboard import dashboard_app
from taskiq_dashboard.live import sse_event


async def test_links_assets_and_redirects_live_under_the_mount_path() -> None:
    broker = InMemoryBroker()
    await broker.startup()
    app = Starlette(routes=[Mount("/ops/taskiq", app=dashboard_app(broker))])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = await client.get("/ops/taskiq/")
        script = await client.get("/ops/taskiq/static/htmx.min.js")
        lookup = await client.get("/ops/taskiq/tasks", params={"id": "abc"})
    await broker.shutdown()
    assert page.status_code == 200
    links = re.findall(r'(?:href|src|action|sse-connect)="(/[^"]*)"', page.text)
    assert links
    assert all(link.startswith("/ops/taskiq/") for link in links), links
    assert script.status_code == 200
    assert script.text.startswith("/*! htmx 2.0.11")
    assert lookup.headers["location"] == "/ops/taskiq/tasks/abc"
    assert "Path=/ops/taskiq/" in page.headers["set-cookie"]


def test_an_event_carries_every_line_of_the_fragment_as_data() -> None:
    assert sse_event("overview", "<p>\n</p>") == "event: overview\ndata: <p>\ndata: </p>\n\n"
    assert sse_event("overview", "") == "event: overview\ndata: \n\n"

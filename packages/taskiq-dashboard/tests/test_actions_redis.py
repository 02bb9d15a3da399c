"""Actions and pages against a real Redis broker, in process (no worker: messages stay ready)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from taskiq import AsyncKicker
from taskiq_dashboard import dashboard_app
from taskiq_redis import RedisAsyncResultBackend, RedisBroker

pytestmark = pytest.mark.service("redis")


@pytest.fixture
async def broker(redis_url: str, queue_name: str) -> AsyncIterator[RedisBroker]:
    backend: RedisAsyncResultBackend[Any] = RedisAsyncResultBackend(
        redis_url, prefix_str=queue_name
    )
    broker = RedisBroker(redis_url, queue_name=queue_name).with_result_backend(backend)
    broker.is_worker_process = False
    await broker.startup()
    yield broker
    await broker.shutdown()


@pytest.fixture
async def client(broker: RedisBroker) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=dashboard_app(broker))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


def ready_of(page: str, queue: str) -> str:
    row = re.search(rf'<tr data-queue="{queue}">.*?class="num ready">([^<]*)<', page, re.S)
    assert row is not None, page
    return row.group(1)


async def test_purge_from_the_overview_empties_the_ready_messages(
    broker: RedisBroker, client: httpx.AsyncClient, queue_name: str
) -> None:
    for _ in range(3):
        await AsyncKicker("dash:sleep", broker, {}).kiq(1)
    page = await client.get("/")
    assert ready_of(page.text, queue_name) == "3"
    token = client.cookies["taskiq_dashboard_csrf"]
    done = await client.post(
        "/actions/purge", data={"csrf": token, "queue": queue_name, "back": "/"}
    )
    assert done.status_code == 303
    after = await client.get(done.headers["location"])
    assert f"Purged 3 ready message(s) from {queue_name}." in after.text
    assert ready_of(after.text, queue_name) == "0"


async def test_a_queued_task_page_shows_its_state_and_labels_nothing_more(
    broker: RedisBroker, client: httpx.AsyncClient
) -> None:
    task = await AsyncKicker("dash:sleep", broker, {}).kiq(1)
    page = await client.get(f"/tasks/{task.task_id}")
    assert page.status_code == 200
    assert 'id="status">queued<' in page.text
    assert "No result yet." in page.text
    assert "kept 86400 s" in page.text  # the Redis backend's default result_ex_time
    assert 'id="cancel"' not in page.text or hasattr(broker, "cancel")


async def test_an_empty_dead_letter_queue_and_an_unknown_queue(
    client: httpx.AsyncClient, queue_name: str
) -> None:
    empty = await client.get("/dead-letters", params={"queue": queue_name})
    unknown = await client.get("/dead-letters", params={"queue": "nope-" + queue_name})
    assert empty.status_code == 200
    assert "No dead letters." in empty.text
    assert unknown.status_code == 400
    assert (
        f"Unknown queue &#39;nope-{queue_name}&#39;; this broker&#39;s queues: {queue_name}."
        in (unknown.text)
    )


async def test_an_action_on_an_unknown_queue_is_refused_with_a_notice(
    client: httpx.AsyncClient, queue_name: str
) -> None:
    await client.get("/")
    token = client.cookies["taskiq_dashboard_csrf"]
    form = {"csrf": token, "queue": "nope", "all": "1", "back": "/dead-letters"}
    done = await client.post("/actions/delete", data=form)
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "Failed: Unknown queue &#39;nope&#39;" in page.text

"""Two apps with different queue names on one server: each runs only its own tasks.

For Redis, RabbitMQ and NATS, two real ``taskiq worker`` processes serve apps
``one`` and ``two`` (`support/side_by_side.py`: default settings but the
queue name). Each app sends 20 tasks; every result must come from the right
app, and neither worker may log a delivery it dropped as unknown. Before
queue names isolated apps, RabbitMQ apps on the default exchange got each
other's tasks and a second NATS app crash-looped.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from side_by_side import KINDS, build, clean_up
from worker_harness import Worker

pytestmark = pytest.mark.slow

SERVICES = {"redis": 6379, "rabbitmq": 5672, "nats": 4222}
APPS = ("one", "two")
TASKS_PER_APP = 20


@pytest.fixture(params=KINDS)
async def kind(
    request: pytest.FixtureRequest,
    require_service: Callable[[str, str, int], None],
) -> str:
    name = str(request.param)
    require_service("Redis", "127.0.0.1", 6379)  # the result backend of every kind
    require_service(name, "127.0.0.1", SERVICES[name])
    pytest.importorskip(
        {"redis": "taskiq_redis", "rabbitmq": "taskiq_aio_pika"}.get(name, "taskiq_nats")
    )
    return name


@pytest.fixture
async def prefix(kind: str) -> AsyncIterator[str]:
    chosen = f"side_{uuid.uuid4().hex[:10]}"
    yield chosen
    await clean_up(kind, chosen)


def _start_workers(kind: str, prefix: str, tmp_path: Path) -> list[Worker]:
    workers = []
    for app in APPS:
        (tmp_path / f"{app}.py").write_text(
            f"from side_by_side import build\n\nbroker = build({kind!r}, {app!r})\n"
        )
        workers.append(Worker(tmp_path, tmp_path, prefix, [f"{app}:broker", "--workers", "1"]))
    return workers


async def _send_all(brokers: dict[str, Any]) -> dict[str, list[Any]]:
    """Interleave both apps' tasks: 10 ``whoami`` and 10 ``<app>.who`` each."""
    sent: dict[str, list[Any]] = {app: [] for app in APPS}
    for number in range(TASKS_PER_APP // 2):
        for app, broker in brokers.items():
            for name in ("whoami", f"{app}.who"):
                sent[app].append(await broker.find_task(name).kiq(number))
    return sent


async def test_two_apps_on_one_server_each_run_only_their_own_tasks(
    kind: str, prefix: str, tmp_path: Path
) -> None:
    workers = _start_workers(kind, prefix, tmp_path)
    brokers = {app: build(kind, app, prefix) for app in APPS}
    try:
        for worker in workers:
            await worker.wait_log("is ready", deadline=60)
        for broker in brokers.values():
            await broker.startup()
        sent = await _send_all(brokers)
        for app, tasks in sent.items():
            assert len(tasks) == TASKS_PER_APP
            results = await asyncio.gather(*(task.wait_result(timeout=60) for task in tasks))
            values = sorted(str(result.return_value) for result in results)
            expected = sorted(
                f"{name}:{number}"
                for number in range(TASKS_PER_APP // 2)
                for name in (app, f"{app}.who")
            )
            assert values == expected, [r.error for r in results if r.is_err]
        for worker in workers:
            worker.send(signal.SIGTERM)
            assert await worker.wait_exit() == 0
        for worker in workers:
            log = worker.log()
            assert "Dropped" not in log, log
            assert "No task named" not in log, log
            assert log.count("is ready") == 1, log  # no crash and restart
    finally:
        for broker in brokers.values():
            await broker.shutdown()
        for worker in workers:
            worker.kill()


DOCS = Path(__file__).resolve().parents[3] / "docs" / "brokers"
DOC_PAGES = {"redis": "redis.md", "rabbitmq": "rabbitmq.md", "nats": "nats.md"}


def _two_apps_block(page: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.DOTALL)
    (block,) = [block for block in blocks if block.startswith("# two apps on one server\n")]
    return block


def _destination(broker: Any) -> tuple[str, ...]:
    """Where the broker's tasks go, in the broker's own terms."""
    if hasattr(broker, "main_queue"):  # RabbitMQ: the queue and the key it is bound with
        return (broker.main_queue.name, broker.main_queue.binding_key)
    if hasattr(broker, "topology"):  # NATS: subject, stream and consumer
        return (broker.subject, broker.stream_name, broker.durable)
    return (broker.keys.stream(),)  # Redis: the stream key


@pytest.mark.parametrize("kind", KINDS)
def test_the_docs_two_apps_example_gives_each_app_its_own_destination(kind: str) -> None:
    pytest.importorskip(
        {"redis": "taskiq_redis", "rabbitmq": "taskiq_aio_pika"}.get(kind, "taskiq_nats")
    )
    namespace: dict[str, Any] = {}
    page = DOC_PAGES[kind]
    exec(compile(_two_apps_block(page), str(DOCS / page), "exec"), namespace)
    emails, reports = _destination(namespace["emails"]), _destination(namespace["reports"])
    assert all("emails" in part for part in emails), emails
    assert all("reports" in part for part in reports), reports
    assert not set(emails) & set(reports)

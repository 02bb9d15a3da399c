"""``taskiq status`` and ``purge`` as processes against RabbitMQ: two queues, purge one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pika_helpers import BrokerFactory, Names
from taskiq.kicker import AsyncKicker
from taskiq_aio_pika import Queue

#: Each test runs several commands, each a Python process (seconds on a loaded machine).
pytestmark = pytest.mark.timeout(300)

APP = """
import os
from taskiq_aio_pika import AioPikaBroker, Queue

broker = AioPikaBroker(
    os.environ["OPS_RABBIT"],
    exchange_name=os.environ["OPS_EXCHANGE"],
    queue_name=os.environ["OPS_QUEUE"],
    queues=[Queue(os.environ["OPS_OTHER"])],
)
"""


def as_json(app_dir: Path, env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "taskiq", *args, "--json"],
        cwd=app_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


async def test_purge_empties_only_the_named_queue(
    rabbit: str, names: Names, make_broker: BrokerFactory, tmp_path: Path
) -> None:
    (tmp_path / "ops_pika_app.py").write_text(APP)
    other = names("other")
    env = {
        **os.environ,
        "OPS_RABBIT": rabbit,
        "OPS_EXCHANGE": names.exchange,
        "OPS_QUEUE": names.queue,
        "OPS_OTHER": other,
    }
    client = await make_broker(queues=[Queue(other)])
    for _ in range(3):
        await AsyncKicker("ops:any", client, {}).kiq()
    for _ in range(2):
        await AsyncKicker("ops:any", client, {"queue_name": other}).kiq()

    def status() -> dict[str, dict[str, Any]]:
        document = as_json(tmp_path, env, "status", "ops_pika_app:broker")
        return {entry["queue"]: entry for entry in document["queues"]}

    before = status()
    assert list(before) == [names.queue, other]
    assert before[other] == {
        "queue": other,
        "ready": 2,
        "delayed": None,
        "in_flight": None,
        "dead": 0,
    }
    purged = as_json(tmp_path, env, "purge", "ops_pika_app:broker", "--queue", other, "--yes")
    assert purged == {"queue": other, "purged": 2}
    after = status()
    assert (after[names.queue]["ready"], after[other]["ready"]) == (3, 0)

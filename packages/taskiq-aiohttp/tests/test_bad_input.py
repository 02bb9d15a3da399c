"""A wrong application path stops the worker at startup, naming the path."""

from __future__ import annotations

import aiohttp_sample_app
import pytest
import taskiq_aiohttp
from aiohttp_worker_support import QueueBroker


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("no_such_module_for_taskiq_aiohttp:app", "No module named"),
        ("aiohttp_sample_app:missing_app", "has no attribute"),
        ("aiohttp_sample_app:not_an_app", "is not an aiohttp web.Application"),
        ("aiohttp_sample_app:failing_factory", "factory exploded"),
        ("aiohttp_sample_app", "expected 'module:variable'"),
    ],
)
async def test_wrong_app_path_fails_worker_startup(path: str, reason: str) -> None:
    broker = QueueBroker()
    taskiq_aiohttp.init(broker, path)
    broker.is_worker_process = True
    with pytest.raises(taskiq_aiohttp.AppLoadError) as caught:
        await broker.startup()
    assert repr(path) in str(caught.value)
    assert reason in str(caught.value)


async def test_failing_startup_signal_fails_worker_startup() -> None:
    broker = QueueBroker()
    taskiq_aiohttp.init(broker, "aiohttp_sample_app:broken_app")
    broker.is_worker_process = True
    aiohttp_sample_app.EVENTS.clear()
    with pytest.raises(RuntimeError, match="database unreachable"):
        await broker.startup()
    # What cleanup_ctx opened before the failing signal is closed again.
    assert aiohttp_sample_app.EVENTS == ["ctx_enter", "ctx_exit"]

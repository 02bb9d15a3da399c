"""``taskiq worker --reload``: file changes restart the children, .gitignore permitting."""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from worker_harness import Harness, Worker

pytestmark = pytest.mark.slow


@pytest.fixture
async def harness(
    tmp_path: Path,
    require_service: Callable[[str, str, int], None],
) -> AsyncIterator[Harness]:
    require_service("redis", "127.0.0.1", 6379)
    harness = Harness(tmp_path)
    (harness.app_dir / ".gitignore").write_text("ignored.txt\n")
    await harness.start()
    yield harness
    await harness.close()


async def _started_watching(harness: Harness, worker: Worker) -> None:
    await harness.wait_items("started", 1)
    await worker.wait_log("Watching ")


def _reload_lines(worker: Worker) -> list[str]:
    return [line for line in worker.log().splitlines() if "Reloading the children" in line]


async def test_reload_restarts_children_with_new_code_ignoring_gitignored_files(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--reload")
    await _started_watching(harness, worker)
    (harness.app_dir / "ignored.txt").write_text("noise")
    app = harness.app_dir / "app.py"
    app.write_text(app.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
    await worker.wait_log("Reloading the children")
    await harness.wait_items("started", 2)
    await worker.wait_log("exited with code 0")
    await harness.kick("record", "after")
    [done] = await harness.wait_items("done", 1)
    assert done.endswith(":v2")
    lines = _reload_lines(worker)
    assert any("app.py" in line for line in lines)
    assert not any("ignored.txt" in line for line in lines)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_do_not_use_gitignore_reloads_for_ignored_files_too(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--reload", "--do-not-use-gitignore")
    await _started_watching(harness, worker)
    (harness.app_dir / "ignored.txt").write_text("noise")
    await worker.wait_log("Reloading the children")
    assert any("ignored.txt" in line for line in _reload_lines(worker))
    await harness.wait_items("started", 2)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_reload_dir_chooses_the_watched_directories(
    harness: Harness,
    tmp_path: Path,
) -> None:
    watched = tmp_path / "watched"
    watched.mkdir()
    worker = harness.worker(
        "app:broker", "--workers", "1", "--reload", "--reload-dir", str(watched)
    )
    await _started_watching(harness, worker)
    assert f"Watching {watched}" in worker.log()
    (watched / "settings.py").write_text("X = 1\n")
    await worker.wait_log("Reloading the children")
    assert any("settings.py" in line for line in _reload_lines(worker))
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_with_reload_a_broken_app_waits_for_a_fix_instead_of_exiting(
    harness: Harness,
) -> None:
    app = harness.app_dir / "app.py"
    good = app.read_text()
    app.write_text(good + "\nthis is not python\n")
    worker = harness.worker("app:broker", "--workers", "1", "--reload")
    await worker.wait_log("cannot load the application; waiting for a change")
    assert worker.process.poll() is None
    app.write_text(good)
    await harness.wait_items("started", 1)
    await harness.kick("record", "fixed")
    await harness.wait_items("done", 1)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0

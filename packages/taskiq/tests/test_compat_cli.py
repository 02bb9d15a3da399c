"""``taskiq worker`` / ``taskiq scheduler`` options exactly as Taskiq's CLI guide spells them."""

from __future__ import annotations

import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from taskiq.acks import AcknowledgeType
from taskiq.cli.scheduler.args import SchedulerArgs
from taskiq.cli.worker.args import WorkerArgs

sys.path.insert(0, str(Path(__file__).parent / "support"))
from worker_harness import Harness


def test_worker_accepts_the_short_app_dir_option() -> None:
    args = WorkerArgs.from_cli(["my_project.broker:broker", "-d", "/srv/app", "-fsd"])
    assert args.app_dir == "/srv/app"
    assert args.fs_discover is True


def test_scheduler_accepts_the_short_app_dir_option_and_skip_first_run() -> None:
    args = SchedulerArgs.from_cli(["module:scheduler", "-d", "/srv/app", "--skip-first-run"])
    assert args.app_dir == "/srv/app"
    assert args.skip_first_run is True


def test_worker_options_of_the_cli_guide_parse_with_their_documented_values() -> None:
    args = WorkerArgs.from_cli(
        [
            "--ack-type",
            "when_executed",
            "mybroker:broker",
            "my_project.module1",
            "my_project.module2",
            "--no-parse",
            "--no-propagate-errors",
            "--max-async-tasks",
            "10",
            "--max-prefetch",
            "2",
            "--max-threadpool-threads",
            "3",
            "--shutdown-timeout",
            "1.5",
            "--wait-tasks-timeout",
            "4",
            "--max-tasks-per-child",
            "50",
            "-w",
            "1",
            "-r",
            "--do-not-use-gitignore",
        ],
    )
    assert args.broker == "mybroker:broker"
    assert args.modules == ["my_project.module1", "my_project.module2"]
    assert args.ack_type is AcknowledgeType.WHEN_EXECUTED
    assert (args.no_parse, args.no_propagate_errors) == (True, True)
    assert (args.max_async_tasks, args.max_prefetch, args.max_threadpool_threads) == (10, 2, 3)
    assert (args.shutdown_timeout, args.wait_tasks_timeout) == (1.5, 4)
    assert (args.max_tasks_per_child, args.workers) == (50, 1)
    assert args.reload is True
    assert args.no_gitignore is True


@pytest.fixture
async def harness(
    tmp_path: Path,
    require_service: Callable[[str, str, int], None],
) -> AsyncIterator[Harness]:
    require_service("redis", "127.0.0.1", 6379)
    harness = Harness(tmp_path)
    await harness.start()
    yield harness
    await harness.close()


async def test_worker_accepts_a_broker_factory_function(harness: Harness) -> None:
    (harness.app_dir / "factory.py").write_text(
        "from app import broker\n\n\ndef make_broker():\n    return broker\n",
    )
    worker = harness.worker("factory:make_broker", "app", "--workers", "1")
    await harness.kick("record", "made")
    [done] = await harness.wait_items("done", 1)
    assert done.startswith("made:")
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0

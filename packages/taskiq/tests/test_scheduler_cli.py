"""``taskiq scheduler`` as a real process: imports, fires on time, stops on signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

APP = textwrap.dedent(
    """
    import asyncio
    import json
    import os
    import time

    from taskiq import AsyncBroker, TaskiqScheduler
    from taskiq.schedule_sources import LabelScheduleSource


    def record(task_name, labels):
        with open(os.environ["SENT_FILE"], "a") as sent:
            line = {"at": time.time(), "task": task_name, "labels": labels}
            sent.write(json.dumps(line) + "\\n")


    class FileBroker(AsyncBroker):
        # Appends its startup and every message it sends to $SENT_FILE, one JSON line each.
        async def startup(self):
            await super().startup()
            record("<startup>", {})

        async def kick(self, message):
            record(message.task_name, message.labels)

        async def shutdown(self):
            record("<shutdown>", {})
            if os.environ.get("HANG_ON_SHUTDOWN"):
                await asyncio.sleep(600)
            await super().shutdown()

        async def listen(self):
            raise NotImplementedError
            yield b""


    broker = FileBroker()
    scheduler = TaskiqScheduler(broker, [LabelScheduleSource(broker)])


    def make_scheduler():
        return TaskiqScheduler(broker, [LabelScheduleSource(broker)], refresh_delay=0.5)


    def broken_factory():
        raise RuntimeError("no config")
    """,
)

TASKS = textwrap.dedent(
    """
    import datetime
    import os

    from app import broker

    FIRE_AT = datetime.datetime.fromtimestamp(float(os.environ["FIRE_AT"]), datetime.timezone.utc)


    @broker.task(task_name="once", schedule=[{"time": FIRE_AT}])
    async def once() -> None: ...


    @broker.task(task_name="tick", schedule=[{"interval": 1, "labels": {"kind": "tick"}}])
    async def tick() -> None: ...
    """,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    app_dir = tmp_path / "project"
    (app_dir / "jobs").mkdir(parents=True)
    (app_dir / "app.py").write_text(APP)
    (app_dir / "jobs" / "__init__.py").write_text("")
    (app_dir / "jobs" / "my_tasks.py").write_text(TASKS)
    return app_dir


class SchedulerProcess:
    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.sent_file = Path(env["SENT_FILE"])
        self.fire_at = float(env["FIRE_AT"])
        self.process = subprocess.Popen(
            [sys.executable, "-m", "taskiq", "scheduler", *args],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def sent(self) -> list[dict[str, object]]:
        if not self.sent_file.exists():
            return []
        return [json.loads(line) for line in self.sent_file.read_text().splitlines()]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                _, err = self.process.communicate()
                raise AssertionError(f"scheduler exited early:\n{err}")
            if time.monotonic() > deadline:
                raise AssertionError("condition not met within the deadline")
            time.sleep(0.02)

    def stop(self, sig: signal.Signals) -> tuple[int, str]:
        self.process.send_signal(sig)
        _, err = self.process.communicate(timeout=30)
        return self.process.returncode, err


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., SchedulerProcess]]:
    started: list[SchedulerProcess] = []

    def launch(
        args: list[str],
        cwd: Path,
        fire_in: float = 3600.0,
        **extra_env: str,
    ) -> SchedulerProcess:
        env = {
            **os.environ,
            **extra_env,
            "SENT_FILE": str(tmp_path / "sent.jsonl"),
            "FIRE_AT": str(time.time() + fire_in),
        }
        started.append(SchedulerProcess(args, env, cwd))
        return started[-1]

    yield launch
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.communicate()


@pytest.mark.slow
def test_scheduler_process_fires_on_time_and_exits_0_on_sigterm(
    project: Path,
    tmp_path: Path,
    start: Callable[..., SchedulerProcess],
) -> None:
    fire_in = 8.0
    scheduler = start(
        ["app:scheduler", "jobs.my_tasks", "--app-dir", str(project)],
        cwd=tmp_path,
        fire_in=fire_in,
    )
    scheduler.wait_until(lambda: any(s["task"] == "once" for s in scheduler.sent()))
    once = [s for s in scheduler.sent() if s["task"] == "once"]
    assert abs(float(str(once[0]["at"])) - scheduler.fire_at) < 1.0
    scheduler.wait_until(lambda: sum(s["task"] == "tick" for s in scheduler.sent()) >= 3)
    code, err = scheduler.stop(signal.SIGTERM)
    assert code == 0, err
    assert [s["task"] for s in scheduler.sent()].count("once") == 1
    assert {"kind": "tick"} in [s["labels"] for s in scheduler.sent()]
    assert "Scheduler started" in err


@pytest.mark.slow
def test_fs_discover_finds_task_files_and_sigint_stops_with_exit_0(
    project: Path,
    start: Callable[..., SchedulerProcess],
) -> None:
    scheduler = start(
        ["app:scheduler", "--fs-discover", "--tasks-pattern", "**/my_tasks.py"],
        cwd=project,
    )
    scheduler.wait_until(lambda: any(s["task"] == "tick" for s in scheduler.sent()))
    code, err = scheduler.stop(signal.SIGINT)
    assert code == 0, err


@pytest.mark.slow
def test_skip_first_run_delays_interval_schedules_and_no_configure_logging_is_quiet(
    project: Path,
    start: Callable[..., SchedulerProcess],
) -> None:
    scheduler = start(
        ["app:scheduler", "jobs.my_tasks", "--skip-first-run", "--no-configure-logging"],
        cwd=project,
    )
    scheduler.wait_until(lambda: any(s["task"] == "tick" for s in scheduler.sent()))
    started, first_tick = (float(str(s["at"])) for s in scheduler.sent()[:2])
    assert first_tick > started  # without the flag the fire of the current second goes at once
    assert first_tick - int(first_tick) < 0.1
    code, err = scheduler.stop(signal.SIGTERM)
    assert code == 0
    assert "Scheduler started" not in err


@pytest.mark.slow
def test_a_scheduler_factory_function_is_called(
    project: Path,
    start: Callable[..., SchedulerProcess],
) -> None:
    scheduler = start(["app:make_scheduler", "jobs.my_tasks"], cwd=project)
    scheduler.wait_until(lambda: any(s["task"] == "tick" for s in scheduler.sent()))
    code, err = scheduler.stop(signal.SIGTERM)
    assert code == 0, err


@pytest.mark.slow
def test_a_second_sigterm_kills_a_scheduler_stuck_in_shutdown(
    project: Path,
    start: Callable[..., SchedulerProcess],
) -> None:
    scheduler = start(["app:scheduler", "jobs.my_tasks"], cwd=project, HANG_ON_SHUTDOWN="1")
    scheduler.wait_until(lambda: any(s["task"] == "tick" for s in scheduler.sent()))
    scheduler.process.send_signal(signal.SIGTERM)
    scheduler.wait_until(lambda: any(s["task"] == "<shutdown>" for s in scheduler.sent()))
    code, _ = scheduler.stop(signal.SIGTERM)
    assert code == -signal.SIGTERM


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskiq", "scheduler", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("missing_module:scheduler", "missing_module"),
        ("app:nothing_here", "no attribute 'nothing_here'"),
        ("app:broker", "not a TaskiqScheduler"),
        ("no_colon", "expected 'module:variable'"),
        ("app:broken_factory", "no config"),
    ],
)
def test_a_wrong_scheduler_path_exits_1_with_a_clear_message(
    project: Path,
    spec: str,
    expected: str,
) -> None:
    result = run_cli([spec], cwd=project)
    assert result.returncode == 1
    assert expected in result.stderr


def test_a_missing_task_module_exits_1_naming_it(project: Path) -> None:
    result = run_cli(["app:scheduler", "jobs.nope"], cwd=project)
    assert result.returncode == 1
    assert "jobs.nope" in result.stderr


def test_a_non_positive_update_interval_is_a_usage_error(project: Path) -> None:
    result = run_cli(["app:scheduler", "--update-interval", "0"], cwd=project)
    assert result.returncode == 2
    assert "greater than 0" in result.stderr


def test_help_lists_every_option_with_its_default(tmp_path: Path) -> None:
    result = run_cli(["--help"], cwd=tmp_path)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for option in (
        "--skip-first-run",
        "--update-interval",
        "--loop-interval",
        "--fs-discover",
        "-fsd",
        "--tasks-pattern",
        "-tp",
        "--app-dir",
        "--log-level",
        "--log-format",
        "--no-configure-logging",
    ):
        assert option in text
    assert text.count("(default:") >= 10
    assert "(default: INFO)" in text
    assert "(default: **/tasks.py)" in text


def test_scheduler_command_is_registered_in_the_taskiq_cli_entry_points() -> None:
    from importlib.metadata import entry_points

    from taskiq.abc.cmd import TaskiqCMD
    from taskiq.cli.scheduler.cmd import SchedulerCMD

    (entry,) = [e for e in entry_points(group="taskiq_cli") if e.name == "scheduler"]
    assert entry.load() is SchedulerCMD
    assert issubclass(SchedulerCMD, TaskiqCMD)
    assert SchedulerCMD.short_help

"""The ``taskiq`` command: subcommand discovery, help, options and bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from taskiq.acks import AcknowledgeType
from taskiq.cli.utils import CLIImportError, discover_modules, import_object
from taskiq.cli.worker.args import WorkerArgs

sys.path.insert(0, str(Path(__file__).parent / "support"))
from worker_harness import Harness

TASKIQ_SCRIPT = Path(sys.executable).parent / "taskiq"
WORKER_FLAGS = [
    "--workers",
    "--fs-discover",
    "-fsd",
    "--tasks-pattern",
    "-tp",
    "--app-dir",
    "--reload",
    "-r",
    "--reload-dir",
    "--reload-pattern",
    "--do-not-use-gitignore",
    "--ack-type",
    "--max-async-tasks",
    "--max-async-tasks-jitter",
    "--max-prefetch",
    "--max-threadpool-threads",
    "--use-process-pool",
    "--max-process-pool-processes",
    "--max-tasks-per-child",
    "--max-fails",
    "--shutdown-timeout",
    "--wait-tasks-timeout",
    "--hardkill-count",
    "--receiver",
    "--receiver_arg",
    "--receiver-arg",
    "--no-parse",
    "--no-propagate-errors",
    "--heartbeat-interval",
    "--health-port",
    "--health-host",
    "--log-level",
    "--log-format",
    "--no-configure-logging",
]


def run_taskiq(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskiq", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )


# -- parsing ---------------------------------------------------------------------


def test_worker_defaults_match_taskiq() -> None:
    args = WorkerArgs.from_cli(["app:broker"])
    assert args.workers == 2
    assert args.tasks_pattern == ["**/tasks.py"]
    assert args.max_async_tasks == 100
    assert args.max_prefetch == 0
    assert args.max_fails == -1
    assert args.shutdown_timeout == 5.0
    assert args.wait_tasks_timeout is None
    assert args.hardkill_count == 3
    assert args.ack_type is AcknowledgeType.WHEN_SAVED
    assert args.receiver == "taskiq.receiver:Receiver"
    assert args.log_level == "INFO"
    assert args.configure_logging is True


def test_worker_flags_are_parsed() -> None:
    args = WorkerArgs.from_cli(
        [
            "app:broker",
            "tasks_a",
            "tasks_b",
            "-tp",
            "**/jobs.py",
            "--tasks-pattern",
            "**/more.py",
            "--ack-type",
            "when_executed",
            "--receiver_arg",
            "a=1",
            "--receiver-arg",
            "b=x=y",
            "--log-level",
            "debug",
            "--max-tasks-per-child",
            "7",
            "--no-configure-logging",
        ]
    )
    assert args.modules == ["tasks_a", "tasks_b"]
    assert args.tasks_pattern == ["**/jobs.py", "**/more.py"]
    assert args.ack_type is AcknowledgeType.WHEN_EXECUTED
    assert args.receiver_arg == [("a", "1"), ("b", "x=y")]
    assert args.log_level == "DEBUG"
    assert args.max_tasks_per_child == 7
    assert args.configure_logging is False


@pytest.mark.parametrize(
    "bad",
    [
        ["app:broker", "--workers", "0"],
        ["app:broker", "--ack-type", "sometimes"],
        ["app:broker", "--receiver_arg", "novalue"],
        ["app:broker", "--shutdown-timeout", "-1"],
        ["app:broker", "--log-level", "LOUD"],
        [],
    ],
)
def test_bad_worker_arguments_exit_with_usage(
    bad: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        WorkerArgs.from_cli(bad)
    assert exited.value.code == 2
    assert "usage: taskiq worker" in capsys.readouterr().err


def test_import_object_explains_bad_specs() -> None:
    assert import_object("os.path:join") is os.path.join
    with pytest.raises(CLIImportError, match="expected 'module:variable'"):
        import_object("no_colon")
    with pytest.raises(CLIImportError, match="has no attribute"):
        import_object("os:no_such_thing")
    with pytest.raises(CLIImportError, match="No module named"):
        import_object("no_such_module_xyz:broker")


def test_fs_discover_finds_pattern_files_and_skips_hidden_and_envs(tmp_path: Path) -> None:
    for relative in [
        "tasks.py",
        "pkg/tasks.py",
        "pkg/sub/jobs_one.py",
        ".hidden/tasks.py",
        "venv/lib/tasks.py",
        "pkg/tasks.txt",
    ]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    assert list(discover_modules(tmp_path, ["**/tasks.py"])) == ["pkg.tasks", "tasks"]
    found = list(discover_modules(tmp_path, ["**/jobs_*.py", "tasks.py"]))
    assert found == ["pkg.sub.jobs_one", "tasks"]


# -- the program -----------------------------------------------------------------


def test_taskiq_help_lists_installed_subcommands() -> None:
    result = run_taskiq("--help")
    assert result.returncode == 0
    assert "worker" in result.stdout
    assert "Run tasks: a supervisor" in result.stdout
    assert "scheduler" in result.stdout


def test_worker_help_lists_every_option_with_its_default() -> None:
    result = subprocess.run(
        [str(TASKIQ_SCRIPT), "worker", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    for flag in WORKER_FLAGS:
        assert flag in result.stdout, flag
    help_text = " ".join(result.stdout.split())
    assert "Number of child processes. (default: 2)" in help_text
    assert "(default: 100)" in help_text
    assert "(default: when_saved)" in help_text


def test_unknown_subcommand_and_no_subcommand_fail() -> None:
    unknown = run_taskiq("frobnicate")
    assert unknown.returncode == 2
    assert "unknown subcommand 'frobnicate'" in unknown.stderr
    assert run_taskiq().returncode == 2


def test_other_packages_add_subcommands_through_entry_points(tmp_path: Path) -> None:
    (tmp_path / "hello_plugin.py").write_text(
        "from taskiq.abc.cmd import TaskiqCMD\n"
        "class HelloCMD(TaskiqCMD):\n"
        "    short_help = 'Say hello from a plugin.'\n"
        "    def exec(self, args):\n"
        "        print('hello', *args)\n"
        "        return 7\n"
        "class NotACommand:\n"
        "    pass\n"
    )
    dist_info = tmp_path / "hello_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[taskiq_cli]\nhello = hello_plugin:HelloCMD\nbroken = hello_plugin:NotACommand\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    listing = run_taskiq("--help", env=env)
    assert "hello" in listing.stdout
    assert "Say hello from a plugin." in listing.stdout
    assert "broken" in listing.stdout
    assert "not a taskiq.abc.cmd.TaskiqCMD subclass" in " ".join(listing.stdout.split())
    hello = run_taskiq("hello", "a", "--flag", env=env)
    assert hello.stdout.strip() == "hello a --flag"
    assert hello.returncode == 7
    broken = run_taskiq("broken", env=env)
    assert broken.returncode == 1
    assert "cannot be loaded" in broken.stderr


def test_worker_with_unimportable_broker_exits_1_with_a_clear_log(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("broker = 42\n")
    missing = run_taskiq("worker", "app:nope", "--workers", "1", cwd=tmp_path)
    assert missing.returncode == 1
    assert "module 'app' has no attribute 'nope'" in missing.stderr
    assert "cannot load the application" in missing.stderr
    not_broker = run_taskiq("worker", "app:broker", "--workers", "1", cwd=tmp_path)
    assert not_broker.returncode == 1
    assert "42 is not a taskiq broker" in not_broker.stderr


# -- options that reach the children ------------------------------------------


async def test_app_dir_and_fs_discover_import_task_modules(
    harness: Harness,
    tmp_path: Path,
) -> None:
    package = harness.app_dir / "jobs"
    package.mkdir()
    (package / "tasks.py").write_text(
        "import os\n"
        "from app import PREFIX, aredis, broker\n"
        "@broker.task\n"
        "async def discovered(tag: str) -> None:\n"
        "    await aredis().rpush(PREFIX + ':done', tag)\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    worker = harness.worker(
        "app:broker", "--workers", "1", "--app-dir", str(harness.app_dir), "-fsd", cwd=elsewhere
    )
    await harness.kick_named("jobs.tasks:discovered", "found")
    assert await harness.wait_items("done", 1) == ["found"]
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_receiver_and_receiver_args_choose_the_receiver(harness: Harness) -> None:
    worker = harness.worker(
        "app:broker",
        "--workers",
        "1",
        "--receiver",
        "app:TaggedReceiver",
        "--receiver_arg",
        "tag=hello",
        "--receiver-arg",
        "color=blue",
        "--max-async-tasks",
        "5",
        "--max-async-tasks-jitter",
        "3",
    )
    [created] = await harness.wait_items("receiver", 1)
    tag, color, max_async = created.split(":")
    assert (tag, color) == ("hello", "blue")
    assert 5 <= int(max_async) <= 8
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


@pytest.mark.parametrize(("flags", "expected"), [([], "int"), (["--no-parse"], "str")])
async def test_no_parse_turns_argument_casting_off(
    harness: Harness,
    flags: list[str],
    expected: str,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1", *flags)
    await harness.kick("typed", "2")
    assert await harness.wait_items("done", 1) == [expected]
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_log_format_and_level_reach_every_process(harness: Harness) -> None:
    worker = harness.worker(
        "app:broker", "--workers", "1", "--log-format", "%(processName)s|%(levelname)s|%(message)s"
    )
    [child] = await harness.wait_items("started", 1)
    await worker.wait_log(f"worker-0:{child}|INFO|")
    assert f"supervisor:{worker.pid}|INFO|Started worker-0 (pid {child})." in worker.log()
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0
    quiet = harness.worker("app:broker", "--workers", "1", "--log-level", "WARNING")
    await harness.wait_items("started", 2)
    quiet.send(signal.SIGTERM)
    assert await quiet.wait_exit() == 0
    assert "Started worker-0" not in quiet.log()


async def test_no_configure_logging_leaves_logging_to_the_app(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--no-configure-logging")
    await harness.wait_items("started", 1)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0
    assert "Started worker-0" not in worker.log()
    assert "[taskiq.worker]" not in worker.log()


# -- the documented quick start ------------------------------------------------

DOCS_CLI = Path(__file__).resolve().parents[3] / "docs" / "cli.md"


def _doc_file(name: str) -> str:
    """The fenced block of docs/cli.md whose first line is ``# <name>``."""
    blocks = DOCS_CLI.read_text().split("```")
    for block in blocks[1::2]:
        body = block.split("\n", 1)[1]
        if body.startswith(f"# {name}\n"):
            return body
    raise AssertionError(f"docs/cli.md has no block for {name}")


def test_the_quick_start_runs_as_written(
    tmp_path: Path,
    require_service: Callable[[str, str, int], None],
) -> None:
    require_service("redis", "127.0.0.1", 6379)
    taskiq_redis = pytest.importorskip("taskiq_redis")
    if not hasattr(taskiq_redis, "RedisBroker"):
        pytest.skip("taskiq_redis.RedisBroker is not available yet")
    import redis

    queue = f"taskiq-cli-docs-{uuid.uuid4().hex}"
    original = 'RedisBroker("redis://127.0.0.1:6379")'
    app = _doc_file("app.py")
    assert original in app
    # Our own queue name: other tests share this Redis.
    (tmp_path / "app.py").write_text(
        app.replace(original, f'RedisBroker("redis://127.0.0.1:6379", queue_name="{queue}")')
    )
    (tmp_path / "send.py").write_text(_doc_file("send.py"))
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [str(TASKIQ_SCRIPT), "worker", "app:broker"],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        sent = subprocess.run([sys.executable, "send.py"], cwd=tmp_path, timeout=60, check=False)
        assert sent.returncode == 0
        _wait_for_text(log_path, "add(1, 2) = 3")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        keys = list(client.scan_iter(f"{queue}*"))
        if keys:
            client.delete(*keys)
        client.close()


def _wait_for_text(path: Path, text: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if text in path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not logged within {deadline} s:\n{path.read_text()}")


def test_version_flag_prints_the_version() -> None:
    from taskiq import __version__

    result = run_taskiq("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"taskiq {__version__}"

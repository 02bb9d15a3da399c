"""The real ``taskiq worker`` as a subprocess in its own process group, and what it logged.

The supervisor's log is the witness for child crashes: every restart it makes
after a child died is one line ``... died (...); restarting it (crash N).``,
and a child that stopped on its own is ``... exited on its own ...``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from taskiq_chaos.config import ENV_VAR, ChaosConfig

SUPPORT_DIR = Path(__file__).resolve().parent.parent
APP = "taskiq_chaos.app:broker"
_CRASH = re.compile(r"died \(.*\); restarting it|exited on its own|more than --max-fails")


class WorkerProcess:
    """``python -m taskiq worker taskiq_chaos.app:broker`` with ``config`` in its environment."""

    def __init__(
        self,
        config: ChaosConfig,
        log_path: Path,
        workers: int = 2,
        max_async_tasks: int = 4,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.workers = workers
        self.max_async_tasks = max_async_tasks
        self.log_path = log_path
        env = {**os.environ, ENV_VAR: config.to_env(), "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SUPPORT_DIR), env.get("PYTHONPATH")]))
        command = [
            sys.executable,
            "-m",
            "taskiq",
            "worker",
            APP,
            "--workers",
            str(workers),
            "--max-async-tasks",
            str(max_async_tasks),
            "--max-fails",
            "-1",
            "--shutdown-timeout",
            "10",
            *extra_args,
        ]
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float = 60.0, count: int | None = None) -> None:
        """Block until ``count`` (default: all) children said they are ready."""
        wanted = self.workers if count is None else count
        deadline = time.monotonic() + timeout
        while self.log().count(" is ready.") < wanted:
            if not self.alive():
                raise RuntimeError(f"the worker exited during startup:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not ready within {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def children(self) -> list[int]:
        """Pids of the worker children (spawned processes) of the supervisor."""
        found: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(pid) for pid in (task / "children").read_text().split()]
        return [pid for pid in found if "spawn_main" in _cmdline(pid)]

    def kill_child(self, pid: int) -> None:
        """SIGKILL one child; the supervisor is expected to restart it."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def kill_group(self) -> None:
        """SIGKILL the supervisor and every child at once."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self, timeout: float = 40.0) -> int | None:
        """SIGTERM, wait for a graceful exit; SIGKILL the group if it does not come."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_group()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)  # children left behind by a dead supervisor
        return self.process.returncode

    def crash_lines(self) -> list[str]:
        """The supervisor's log lines that record a child crash or an unexpected exit."""
        return [line for line in self.log().splitlines() if _CRASH.search(line)]

    def rss_bytes(self) -> int:
        """Resident memory of the supervisor and its children now (the soak's flatness check)."""
        return sum(_rss(pid) for pid in [self.pid, *self.children()])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0

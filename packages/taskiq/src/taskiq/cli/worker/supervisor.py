"""The ``taskiq worker`` main process: keeps ``--workers`` children running.

The supervisor never imports the application, so every child it starts
(``spawn``) runs the code as it is on disk now. It waits, in one loop, on
the children's exit sentinels, their pipes and a self-pipe fed by signal
handlers and the reload watcher:

- a child that crashes is restarted, up to ``--max-fails`` crashes;
- a child announcing ``retiring`` (``--max-tasks-per-child``) is replaced
  at once while it finishes the messages it already took;
- SIGINT/SIGTERM stop every child gracefully and exit 0; after
  ``--hardkill-count`` such signals the children are killed;
- SIGHUP (or a file change with ``--reload``) starts new children and stops
  each old one once its replacement is ready; if the new code cannot even be
  imported, the old children keep running. `ReloadGate` decides when: one
  reload per burst of changes, none while the last start or reload is
  still under way.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from taskiq.cli.worker.args import WorkerArgs
from taskiq.cli.worker.child import EXIT_CONFIG_ERROR, FATAL_PREFIX, run_child
from taskiq.cli.worker.health import HealthServer
from taskiq.cli.worker.reload_gate import ReloadGate

logger = logging.getLogger("taskiq.worker")

_FILES_CHANGED = 0  # wake-up byte of the reload watcher; signal numbers are never 0
_HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: A child that crashes sooner than this after starting is restarted after a pause.
_QUICK_CRASH = 2.0
_RESTART_PAUSE = 1.0
#: Extra seconds given to a stopping child beyond its own two timeouts.
_STOP_GRACE = 5.0


@dataclass(eq=False)
class Child:
    """One child process and what the supervisor expects of it."""

    slot: int
    process: BaseProcess
    conn: Connection | None
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    #: Exit expected: do not replace it when it ends.
    retiring: bool = False
    #: The children this one takes over from once it is ready (reloads).
    replaces: list[Child] = field(default_factory=list)
    #: Started by the worker's start or a reload: reloads wait until it is ready.
    holds_reloads: bool = False
    #: Why it is about to exit with `EXIT_CONFIG_ERROR` (a "fatal:" message), if it said.
    fatal: str | None = None

    @property
    def label(self) -> str:
        """``worker-<slot> (pid <pid>)``, as used in every log line about it."""
        return f"worker-{self.slot} (pid {self.process.pid})"


class Supervisor:
    """Runs and replaces the children; `run` returns the process exit code."""

    def __init__(self, args: WorkerArgs) -> None:
        self.args = args
        self.children: list[Child] = []
        self.failures = 0
        self.stopping = False
        self.exit_code = 0
        self.stop_signals = 0
        self.stop_deadline: float | None = None
        self.restarts: list[tuple[float, int, list[Child]]] = []
        self.changed_files: list[str] = []
        self.gate = ReloadGate()
        self.alive_at = time.monotonic()  # last loop step, for /livez
        self._changed_lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)

    # -- main loop -----------------------------------------------------------

    def run(self) -> int:
        """Start the children and supervise them until they have all stopped."""
        multiprocessing.current_process().name = f"supervisor:{os.getpid()}"
        health = HealthServer.start(self)  # --health-port: /livez, /readyz
        previous = self._install_signal_handlers()
        watcher = self._start_watcher()
        try:
            for slot in range(self.args.workers):
                self.start_child(slot, holds_reloads=True)
            while not (self.stopping and not self.children):
                self._step()
        finally:
            if watcher is not None:
                watcher.stop()
            self._restore_signal_handlers(previous)
            health.stop()
        logger.info("Worker stopped (exit code %d).", self.exit_code)
        return self.exit_code

    def _step(self) -> None:
        self.alive_at = time.monotonic()
        waitables: dict[Any, Any] = {self._wake_read: None}
        for child in self.children:
            waitables[child.process.sentinel] = child
            if child.conn is not None:
                waitables[child.conn] = child
        for ready in wait(list(waitables), timeout=self._timeout()):
            if ready == self._wake_read:
                self._on_wakeup()
            elif isinstance(ready, Connection):
                self._on_message(waitables[ready], ready)
            else:
                self._on_exit(waitables[ready])
        self._run_due_restarts()
        self._run_due_reload()
        self._enforce_stop_deadline()

    def _timeout(self) -> float:
        deadlines = [due for due, _, _ in self.restarts]
        if self.stop_deadline is not None:
            deadlines.append(self.stop_deadline)
        reload_check = self.gate.next_check(self._starting_since())
        if reload_check is not None:
            deadlines.append(reload_check)
        if not deadlines:
            return 1.0
        return max(0.0, min(min(deadlines) - time.monotonic(), 1.0))

    # -- children --------------------------------------------------------------

    def start_child(
        self,
        slot: int,
        replaces: list[Child] | None = None,
        holds_reloads: bool = False,
    ) -> Child:
        """Spawn the child for ``slot``; once ready, it stops the children it ``replaces``."""
        ours, theirs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=run_child,
            args=(self.args, slot, theirs),
            name=f"worker-{slot}",
            daemon=False,
        )
        process.start()
        theirs.close()
        child = Child(
            slot=slot,
            process=process,
            conn=ours,
            replaces=list(replaces or []),
            holds_reloads=holds_reloads,
        )
        self.children.append(child)
        logger.info("Started %s.", child.label)
        return child

    def _on_message(self, child: Child, conn: Connection) -> None:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            conn.close()
            child.conn = None
            return
        if message == "ready":
            self._on_ready(child)
        elif message == "retiring":
            self._on_retiring(child)
        elif isinstance(message, str) and message.startswith(FATAL_PREFIX):
            child.fatal = message[len(FATAL_PREFIX) :]

    def _on_ready(self, child: Child) -> None:
        child.ready = True
        logger.info("%s is ready.", child.label)
        old, child.replaces = child.replaces, []
        for previous in old:
            if previous in self.children:
                self._retire(previous)

    def _on_retiring(self, child: Child) -> None:
        logger.info("%s took its last message; starting its replacement.", child.label)
        child.retiring = True
        if not self.stopping:
            self.start_child(child.slot)

    def _on_exit(self, child: Child) -> None:
        self.children.remove(child)
        child.process.join()
        while child.conn is not None and _has_message(child.conn):
            self._on_message(child, child.conn)  # e.g. "retiring", sent just before exiting
        if child.conn is not None:
            child.conn.close()
            child.conn = None
        code = child.process.exitcode
        if child.retiring or self.stopping or self._is_being_replaced(child):
            logger.info("%s exited with code %s.", child.label, code)
        elif code == EXIT_CONFIG_ERROR:
            self._on_config_error(child)
        elif code == 0:
            logger.warning("%s exited on its own; starting a replacement.", child.label)
            self._schedule_restart(child)
        else:
            self._on_crash(child, code)

    def _is_being_replaced(self, child: Child) -> bool:
        """A reload already started this child's successor: no restart needed."""
        successors = [other for other in self.children if child in other.replaces]
        for successor in successors:
            successor.replaces.remove(child)
        return bool(successors)

    def _on_crash(self, child: Child, code: int | None) -> None:
        self.failures += 1
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        limit = self.args.max_fails
        if 0 <= limit < self.failures:
            logger.error(
                "%s died (%s): %d child crashes, more than --max-fails=%d; stopping.",
                child.label,
                how,
                self.failures,
                limit,
            )
            self.begin_stop(1)
            return
        logger.warning("%s died (%s); restarting it (crash %d).", child.label, how, self.failures)
        self._schedule_restart(child)

    def _on_config_error(self, child: Child) -> None:
        cannot = child.fatal or f"{child.label} cannot load the application"
        if child.replaces:
            kept = ", ".join(previous.label for previous in child.replaces)
            logger.error("New code cannot be loaded; %s keeps running.", kept)
            if child.fatal:
                logger.error("%s", child.fatal)
            return
        if self.args.reload:
            logger.error("%s; waiting for a change.", cannot.rstrip("."))
            return
        # One line for the whole worker: the other children stop without repeating it.
        see_above = "" if child.fatal else " (see above)"
        logger.error("%s%s; stopping.", cannot.rstrip("."), see_above)
        self.begin_stop(1)

    def _schedule_restart(self, child: Child) -> None:
        quick = time.monotonic() - child.started < _QUICK_CRASH
        due = time.monotonic() + (_RESTART_PAUSE if quick else 0.0)
        self.restarts.append((due, child.slot, child.replaces))

    def _run_due_restarts(self) -> None:
        now = time.monotonic()
        due = [entry for entry in self.restarts if entry[0] <= now]
        self.restarts = [entry for entry in self.restarts if entry[0] > now]
        for _, slot, replaces in due:
            if not self.stopping:
                self.start_child(slot, replaces)

    def _retire(self, child: Child) -> None:
        child.retiring = True
        _signal(child, signal.SIGTERM)

    # -- stopping and reloading ------------------------------------------------

    def begin_stop(self, exit_code: int) -> None:
        """Ask every child to stop gracefully; the loop ends when all have exited."""
        if self.stopping:
            return
        self.stopping = True
        self.exit_code = exit_code
        self.restarts.clear()
        logger.info("Stopping %d children.", len(self.children))
        for child in self.children:
            _signal(child, signal.SIGTERM)
        wait_tasks = self.args.wait_tasks_timeout
        if wait_tasks is not None:
            budget = wait_tasks + self.args.shutdown_timeout + _STOP_GRACE
            self.stop_deadline = time.monotonic() + budget

    def hard_kill(self) -> None:
        """Kill every child now; messages they held are left to the broker."""
        logger.warning("Killing %d children.", len(self.children))
        self.stopping = True
        self.exit_code = 1
        for child in self.children:
            _signal(child, signal.SIGKILL)

    def reload(self, reason: str) -> None:
        """Start a new child per slot; each old one stops once its replacement is ready."""
        if self.stopping:
            return
        logger.info("Reloading the children: %s.", reason)
        pending = {slot: replaces for _, slot, replaces in self.restarts}
        self.restarts.clear()
        for slot in range(self.args.workers):
            replaces = self._serving(slot) + pending.get(slot, [])
            self.start_child(slot, replaces=replaces, holds_reloads=True)

    def _run_due_reload(self) -> None:
        now = time.monotonic()
        starting_since = self._starting_since()
        if self.gate.is_held(now, starting_since):
            if self.gate.first_hold():
                logger.info("Reload requested; it waits until the starting children are ready.")
            return
        reason = self.gate.take(now, starting_since)
        if reason is not None:
            self.reload(reason)

    def _starting_since(self) -> float | None:
        """When the oldest child of the last start or reload that is not ready yet began."""
        starting = [
            child.started
            for child in self.children
            if child.holds_reloads and not child.ready and not child.retiring
        ]
        return min(starting, default=None)

    def _serving(self, slot: int) -> list[Child]:
        """Children of ``slot`` not yet retiring, with those they were to replace."""
        serving = [child for child in self.children if child.slot == slot and not child.retiring]
        for child in list(serving):
            serving.extend(child.replaces)
            child.replaces = []
        return serving

    def _enforce_stop_deadline(self) -> None:
        if self.stop_deadline is not None and time.monotonic() >= self.stop_deadline:
            self.stop_deadline = None
            logger.error("Children did not stop within their timeouts.")
            self.hard_kill()

    # -- wake-ups: signals and file changes ---------------------------------

    def files_changed(self, paths: list[str]) -> None:
        """Called by the reload watcher's thread."""
        with self._changed_lock:
            self.changed_files.extend(paths)
        _write_byte(self._wake_write, _FILES_CHANGED)

    def _on_wakeup(self) -> None:
        for byte in os.read(self._wake_read, 512):
            if byte == _FILES_CHANGED:
                self._reload_for_files()
            else:
                self._on_signal(signal.Signals(byte))

    def _reload_for_files(self) -> None:
        with self._changed_lock:
            paths, self.changed_files = self.changed_files, []
        if paths:
            self.gate.files_changed(paths, time.monotonic())

    def _on_signal(self, signum: signal.Signals) -> None:
        if signum == signal.SIGHUP:
            self.gate.signalled()
            return
        self.stop_signals += 1
        logger.info("%s received (%d of --hardkill-count).", signum.name, self.stop_signals)
        if self.stop_signals >= self.args.hardkill_count:
            self.hard_kill()
        else:
            self.begin_stop(0)

    def _install_signal_handlers(self) -> dict[int, Any]:
        previous: dict[int, Any] = {}
        for signum in _HANDLED_SIGNALS:
            previous[signum] = signal.signal(signum, _ignore_signal)
        previous[-1] = signal.set_wakeup_fd(self._wake_write)
        return previous

    def _restore_signal_handlers(self, previous: dict[int, Any]) -> None:
        signal.set_wakeup_fd(previous.pop(-1))
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _start_watcher(self) -> Any:
        if not self.args.reload:
            return None
        from taskiq.cli.worker.reloader import ReloadWatcher

        dirs = self.args.reload_dirs or [self.args.app_dir or os.getcwd()]
        watcher = ReloadWatcher(
            dirs, not self.args.no_gitignore, self.files_changed, self.args.reload_patterns
        )
        watcher.start()
        return watcher


def _signal(child: Child, signum: int) -> None:
    if child.process.pid is not None and child.process.exitcode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.process.pid, signum)


def _has_message(conn: Connection) -> bool:
    try:
        return conn.poll()
    except OSError:
        return False


def _write_byte(fd: int, value: int) -> None:
    with contextlib.suppress(BlockingIOError):  # the pipe is full of wake-ups already
        os.write(fd, bytes([value]))


def _ignore_signal(signum: int, frame: Any) -> None:
    """The wake-up fd carries the signal to the main loop; nothing to do here."""

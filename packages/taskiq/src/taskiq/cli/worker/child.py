"""One worker child: import the application, then run tasks until told to stop.

The child speaks to its supervisor through a pipe: it sends ``"ready"`` once
the broker has started (waiting for an unreachable one, see `connect`), ``"fatal:<line>"``
before exiting on a configuration error, and ``"retiring"`` when it has taken its
``--max-tasks-per-child`` messages (it then finishes them and exits, while
its replacement starts). The supervisor never writes to the pipe, so the
pipe becoming readable means the supervisor is gone: the child stops too.

SIGINT and SIGTERM stop fetching at once; running tasks get
``--wait-tasks-timeout`` seconds, the broker's shutdown ``--shutdown-timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import multiprocessing
import os
import random
import signal
import sys
from concurrent.futures import Executor
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from taskiq.abc.broker import AsyncBroker
from taskiq.cli.common_args import configure_logging
from taskiq.cli.utils import CLIImportError, add_app_dir, import_object, import_tasks
from taskiq.cli.worker.args import WorkerArgs
from taskiq.cli.worker.banner import log_banner
from taskiq.cli.worker.connect import StartupConfigError, start_when_reachable
from taskiq.cli.worker.executor import build_executor
from taskiq.cli.worker.fetching import steady_source
from taskiq.cli.worker.heartbeat import Heartbeat
from taskiq.exceptions import BrokerConfigError
from taskiq.receiver import Receiver
from taskiq.receiver.loop_watchdog import LoopWatchdog

logger = logging.getLogger("taskiq.worker")

#: Exit code of a child that cannot load the application: restarting it would not help.
EXIT_CONFIG_ERROR = 3
#: Pipe message sent just before exiting with `EXIT_CONFIG_ERROR`: the line to log.
FATAL_PREFIX = "fatal:"
_BACKSTOP_SLACK = 1.0


def run_child(args: WorkerArgs, slot: int, conn: Connection) -> None:
    """Entry point of a child process (spawned, so it imports the code afresh)."""
    multiprocessing.current_process().name = f"worker-{slot}:{os.getpid()}"
    # Ctrl+C reaches the whole process group; the supervisor turns it into SIGTERM,
    # so a child still importing the application is not interrupted mid-import.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(args.configure_logging, args.log_level, args.log_format)
    # Before the import, as Taskiq does: application code may read it at import time.
    AsyncBroker.is_worker_process = True
    try:
        broker, receiver_cls = load_application(args)
    except BrokerConfigError as exc:  # e.g. a URL the broker's constructor rejected
        logger.debug("Cannot load the application:", exc_info=exc)
        _exit_misconfigured(conn, f"Cannot load the application: {exc}")
    except Exception as exc:
        logger.error("Cannot load the application: %s", exc, exc_info=_traceback_of(exc))
        sys.exit(EXIT_CONFIG_ERROR)
    try:
        asyncio.run(serve(broker, receiver_cls, args, conn))
    except StartupConfigError as exc:
        _exit_misconfigured(conn, exc.line)
    except BrokerConfigError as exc:  # raised after start-up: restarting would fail alike
        _exit_misconfigured(conn, f"The broker cannot work as configured: {exc}")


def load_application(args: WorkerArgs) -> tuple[AsyncBroker, type[Receiver]]:
    """Import the broker, the task modules and the receiver class named in ``args``.

    ``AsyncBroker.is_worker_process`` is set on the class first, so the
    application can tell at import time that it runs in a worker (as in Taskiq).
    """
    AsyncBroker.is_worker_process = True
    add_app_dir(args.app_dir)
    broker = import_object(args.broker)
    if inspect.isfunction(broker):  # Taskiq also accepts a function that builds the broker
        broker = broker()
    if not isinstance(broker, AsyncBroker):
        raise CLIImportError(spec=args.broker, reason=f"{broker!r} is not a taskiq broker.")
    import_tasks(args.modules, args.tasks_pattern, args.fs_discover, args.app_dir)
    receiver_cls = import_object(args.receiver)
    if not (isinstance(receiver_cls, type) and issubclass(receiver_cls, Receiver)):
        raise CLIImportError(
            spec=args.receiver,
            reason="--receiver must name a subclass of taskiq.receiver.Receiver.",
        )
    return broker, receiver_cls


async def serve(
    broker: AsyncBroker,
    receiver_cls: type[Receiver],
    args: WorkerArgs,
    conn: Connection,
) -> None:
    """Start the broker, run the receiver until stopped, shut the broker down."""
    stop = asyncio.Event()
    _watch_for_stop(stop, conn)
    broker.is_worker_process = True
    if not await start_when_reachable(broker, stop):
        return
    log_banner(broker, args)
    _send(conn, "ready")
    executor = build_executor(
        args.max_threadpool_threads, args.use_process_pool, args.max_process_pool_processes
    )
    heartbeat = Heartbeat.start(broker, args)  # for `taskiq workers`; removed at stop
    watchdog = LoopWatchdog.start_here()  # warns naming the task when the loop is blocked
    try:
        receiver = receiver_cls(broker, **receiver_kwargs(args, executor))
        retiring = lambda: _send(conn, "retiring")  # noqa: E731
        receiver.stream_source = steady_source(args.max_tasks_per_child, retiring)
        await run_until_stopped(receiver, stop, args.wait_tasks_timeout)
    finally:
        await heartbeat.stop()
        watchdog.stop()
        await shutdown_broker(broker, args.shutdown_timeout)
        # Threads cannot be stopped: do not wait for abandoned ones. Pool processes
        # are joined so that none outlives the child.
        executor.shutdown(wait=args.use_process_pool, cancel_futures=True)
        _ignore_stop_signals()


def receiver_kwargs(args: WorkerArgs, executor: Executor) -> dict[str, Any]:
    """Receiver keywords from the flags; ``--receiver_arg`` values come last and win."""
    jitter = random.randint(0, args.max_async_tasks_jitter)
    kwargs: dict[str, Any] = {
        "executor": executor,
        "validate_params": not args.no_parse,
        "max_async_tasks": args.max_async_tasks + jitter,
        "max_prefetch": args.max_prefetch,
        "propagate_exceptions": not args.no_propagate_errors,
        "ack_type": args.ack_type,
        "wait_tasks_timeout": args.wait_tasks_timeout,
        "cancel_grace": args.cancel_grace,
    }
    kwargs.update(dict(args.receiver_arg))
    return kwargs


async def run_until_stopped(
    receiver: Receiver,
    stop: asyncio.Event,
    wait_tasks_timeout: float | None,
) -> None:
    """Listen until the stream ends or ``stop`` is set, then let running tasks finish."""
    listening = asyncio.create_task(receiver.listen(stop))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({listening, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not listening.done():
        # The receiver applies the timeout itself; this is the backstop.
        backstop = None if wait_tasks_timeout is None else wait_tasks_timeout + _BACKSTOP_SLACK
        await asyncio.wait({listening}, timeout=backstop)
    if not listening.done():
        logger.warning(
            "Tasks still running after --wait-tasks-timeout=%ss are abandoned; the broker "
            "redelivers the messages it never acknowledged.",
            wait_tasks_timeout,
        )
        listening.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await listening


async def shutdown_broker(broker: AsyncBroker, timeout: float) -> None:
    """Run ``broker.shutdown()`` for at most ``timeout`` seconds."""
    try:
        await asyncio.wait_for(broker.shutdown(), timeout)
    except asyncio.TimeoutError:
        logger.warning("Broker shutdown took longer than --shutdown-timeout=%ss.", timeout)
    except Exception:
        logger.exception("Broker shutdown failed.")


def _watch_for_stop(stop: asyncio.Event, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _stop_requested, stop, signal.Signals(signum).name)

    def supervisor_gone() -> None:
        loop.remove_reader(conn.fileno())
        _stop_requested(stop, "the supervisor exited")

    loop.add_reader(conn.fileno(), supervisor_gone)


def _ignore_stop_signals() -> None:
    """Stop handling SIGINT/SIGTERM through the event loop before ``asyncio.run`` closes it.

    ``loop.close()`` closes the loop's self-pipe before it removes its signal
    handlers, so a stop signal arriving in between is written to a closed
    descriptor ("Exception ignored when trying to write to the signal wakeup fd:
    OSError: [Errno 9]"), and one arriving after it meets the default action and
    kills the child. Removing the handlers here also unsets the wakeup descriptor;
    the child is stopping anyway, so later stop signals are ignored.
    """
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(signum)
        signal.signal(signum, signal.SIG_IGN)


def _stop_requested(stop: asyncio.Event, reason: str) -> None:
    if not stop.is_set():
        logger.info("Stop requested (%s).", reason)
        stop.set()


def _exit_misconfigured(conn: Connection, line: str) -> NoReturn:
    """Tell the supervisor why (it logs the line once for all children), then exit."""
    _send(conn, FATAL_PREFIX + line)
    sys.exit(EXIT_CONFIG_ERROR)


def _send(conn: Connection, message: str) -> None:
    with contextlib.suppress(OSError):
        conn.send(message)


def _traceback_of(exc: Exception) -> BaseException | None:
    """Our own import errors explain themselves; anything else needs its traceback."""
    return None if isinstance(exc, CLIImportError) and exc.__cause__ is None else exc

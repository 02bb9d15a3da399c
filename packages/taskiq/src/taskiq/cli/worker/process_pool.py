"""The process pool of ``--use-process-pool``: one call's process can be ended, and is replaced.

`concurrent.futures.ProcessPoolExecutor` cannot lose a process: when one dies the
whole pool breaks and every call in it fails. This executor runs on
`multiprocessing.Pool`, which starts a new process for each one that exits, so
`stop_call` can end the process running a cancelled task (SIGKILL after the
receiver's ``cancel_grace``, see `taskiq.receiver.cancelling`) while the other
calls go on.

Each call is tagged with the id of the task submitting it (`CALLING_TASK`, set by
the receiver) and writes its process id to shared memory when it starts. A process
is only ended while it runs that call: under a shared lock, with its "finished"
mark not yet written, so it has not begun to hand its result back (a process
killed inside the pool's own result queue would wedge the pool). A call whose
process dies on its own fails with `CallStoppedError` instead of hanging: the
pool replaces the process but would never answer for the call.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from multiprocessing.context import BaseContext
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any, TypeVar

from taskiq.receiver.cancelling import CALLING_TASK

logger = logging.getLogger("taskiq.worker")

_T = TypeVar("_T")

#: Seconds between two checks that the processes running calls are still alive.
LIVENESS_EVERY = 0.5
#: Calls whose "finished" mark is remembered; a call outliving this many later ones
#: that share its slot is abandoned instead of ended (never ended by mistake).
_RING = 4096

# -- in the pool's processes ----------------------------------------------------------

_shared: Any = None


def _init(shared: Any) -> None:
    global _shared  # one pool process: set once
    _shared = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker child decides when to stop


def _tagged(seq: int, fn: Callable[[], Any]) -> Any:
    slot = seq % _RING
    with _shared.get_lock():  # written before the call runs, in shared memory
        _shared[slot] = seq
        _shared[_RING + slot] = os.getpid()
    try:
        return fn()
    finally:
        with _shared.get_lock():
            _shared[2 * _RING + slot] = seq


# -- in the worker ----------------------------------------------------------------------


class ReplacingProcessPool(Executor):
    """An executor over ``multiprocessing.Pool`` whose calls can be stopped one by one.

    Shared memory holds three rings of `_RING` slots: the call started in a slot, the
    process running it, and the call that finished there.
    """

    #: Calls run in other processes: the receiver passes them no context variables.
    runs_in_processes = True

    def __init__(self, max_workers: int | None, mp_context: BaseContext) -> None:
        self._shared: SynchronizedArray[Any] = mp_context.Array("q", [-1] * (3 * _RING))
        self._pool = mp_context.Pool(max_workers, _init, (self._shared,))
        self._seq = itertools.count()
        self._calls: dict[int, tuple[str | None, Future[Any]]] = {}
        self._stop_when_started: set[int] = set()
        self._mutex = threading.Lock()
        self._closed = threading.Event()
        self._monitor = threading.Thread(target=self._watch_calls, daemon=True)
        self._monitor.start()

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` in a pool process, tagged with the calling task."""
        future: Future[_T] = Future()
        future.set_running_or_notify_cancel()
        seq = next(self._seq)
        with self._mutex:
            self._calls[seq] = (CALLING_TASK.get(), future)
        self._pool.apply_async(
            _tagged,
            (seq, _bind(fn, args, kwargs)),
            callback=lambda value: self._settle(seq, value, None),
            error_callback=lambda error: self._settle(seq, None, error),
        )
        return future

    def stop_call(self, task_id: str) -> bool:
        """End the process running ``task_id``'s call (or end it when it starts)."""
        with self._mutex:
            seqs = [seq for seq, (owner, _) in self._calls.items() if owner == task_id]
        for seq in seqs:
            if not self._kill(seq):
                with self._mutex:
                    self._stop_when_started.add(seq)
            self._settle(seq, None, CallStoppedError(f"The call {seq} was stopped."))
        return bool(seqs)

    def _running_pid(self, seq: int) -> int | None:
        """The process running call ``seq`` (hold the shared lock); None if not running."""
        slot = seq % _RING
        if self._shared[slot] != seq or self._shared[2 * _RING + slot] == seq:
            return None
        return int(self._shared[_RING + slot])

    def _kill(self, seq: int) -> bool:
        """SIGKILL the process running ``seq`` if it runs it; False if it has not started."""
        with self._shared.get_lock():  # it cannot be marking itself finished meanwhile
            slot = seq % _RING
            if self._shared[slot] != seq:
                return False
            pid = self._running_pid(seq)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                    logger.info("Ended pool process %s (stopped call); the pool replaces it.", pid)
        return True

    def _watch_calls(self) -> None:
        """Every `LIVENESS_EVERY` s: end calls stopped before they started, fail dead ones."""
        while not self._closed.wait(LIVENESS_EVERY):
            with self._mutex:
                early = list(self._stop_when_started)
            for seq in early:
                if self._kill(seq):
                    with self._mutex:
                        self._stop_when_started.discard(seq)
            self._fail_dead_calls()

    def _fail_dead_calls(self) -> None:
        """Fail the calls whose process died on its own (a crash, os._exit, the OOM killer).

        ``multiprocessing.Pool`` replaces the process but never answers for its call.
        """
        with self._mutex:
            seqs = list(self._calls)
        for seq in seqs:
            with self._shared.get_lock():
                pid = self._running_pid(seq)
            if pid is not None and not _alive(pid):
                logger.warning("Pool process %s died while running a call; it is replaced.", pid)
                error = CallStoppedError(f"The pool process running this call (pid {pid}) died.")
                self._settle(seq, None, error)

    def _settle(self, seq: int, value: Any, error: BaseException | None) -> None:
        with self._mutex:
            entry = self._calls.pop(seq, None)
        if entry is None:
            return
        future = entry[1]
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the pool: wait for its calls (``wait``) or end them (``cancel_futures``)."""
        self._closed.set()
        self._pool.close()
        if cancel_futures:
            self._pool.terminate()
        if wait:
            self._pool.join()


class CallStoppedError(Exception):
    """The call's process ended before it answered: `stop_call`, or it died."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a reused pid of another user
        return False
    return True


def _bind(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not args and not kwargs:
        return fn
    return functools.partial(fn, *args, **kwargs)

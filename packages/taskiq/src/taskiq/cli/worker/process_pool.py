"""The process pool of ``--use-process-pool``: one call's process can be ended, and is replaced.

`concurrent.futures.ProcessPoolExecutor` cannot lose a process: when one dies the
whole pool breaks and every call in it fails. This executor runs on
`multiprocessing.Pool`, which starts a new process for each one that exits, so
`stop_call` can end the process running a cancelled task (SIGKILL after the
receiver's ``cancel_grace``, see `taskiq.receiver.cancelling`) while the other
calls go on.

Each call is tagged with the id of the task submitting it (`CALLING_TASK`, set by
the receiver) and reports its process id when it starts. A process is only ended
while it runs that call: a shared lock and a ring of "finished" marks make sure
it has not yet begun to hand its result back (a process killed inside the pool's
own result queue would wedge the pool).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from multiprocessing.context import BaseContext
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any, TypeVar

from taskiq.receiver.cancelling import CALLING_TASK

logger = logging.getLogger("taskiq.worker")

_T = TypeVar("_T")

#: Calls whose "finished" mark is remembered; a call outliving this many later ones
#: that share its slot is abandoned instead of ended (never ended by mistake).
_RING = 4096

# -- in the pool's processes ----------------------------------------------------------

_started: Queue[tuple[int, int] | None] | None = None
_finished: Any = None
_lock: Any = None


def _init(started: Queue[tuple[int, int] | None], finished: Any, lock: Any) -> None:
    global _started, _finished, _lock  # one pool process: set once
    _started, _finished, _lock = started, finished, lock
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the worker child decides when to stop


def _tagged(seq: int, fn: Callable[[], Any]) -> Any:
    assert _started is not None
    _started.put((seq, os.getpid()))
    try:
        return fn()
    finally:
        with _lock:
            _finished[seq % _RING] = seq


# -- in the worker ----------------------------------------------------------------------


class ReplacingProcessPool(Executor):
    """An executor over ``multiprocessing.Pool`` whose calls can be stopped one by one."""

    #: Calls run in other processes: the receiver passes them no context variables.
    runs_in_processes = True

    def __init__(self, max_workers: int | None, mp_context: BaseContext) -> None:
        self._started: Queue[tuple[int, int] | None] = mp_context.Queue()
        self._finished: SynchronizedArray[Any] = mp_context.Array("q", [-1] * _RING)
        self._lock = self._finished.get_lock()
        shared = (self._started, self._finished, self._lock)
        self._pool = mp_context.Pool(max_workers, _init, shared)
        self._seq = itertools.count()
        self._calls: dict[int, tuple[str | None, Future[Any]]] = {}
        self._pids: dict[int, int] = {}
        self._stop_when_started: set[int] = set()
        self._mutex = threading.Lock()
        self._reader = threading.Thread(target=self._read_starts, daemon=True)
        self._reader.start()

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` in a pool process, tagged with the calling task."""
        future: Future[_T] = Future()
        future.set_running_or_notify_cancel()
        seq = next(self._seq)
        with self._mutex:
            self._calls[seq] = (CALLING_TASK.get(), future)
        call = _bind(fn, args, kwargs)
        self._pool.apply_async(
            _tagged,
            (seq, call),
            callback=lambda value: self._settle(seq, value, None),
            error_callback=lambda error: self._settle(seq, None, error),
        )
        return future

    def stop_call(self, task_id: str) -> bool:
        """End the process running ``task_id``'s call (or end it when it starts)."""
        with self._mutex:
            seqs = [seq for seq, (owner, _) in self._calls.items() if owner == task_id]
        for seq in seqs:
            self._stop(seq)
        return bool(seqs)

    def _stop(self, seq: int) -> None:
        with self._mutex:
            pid = self._pids.get(seq)
            if pid is None:
                self._stop_when_started.add(seq)
        if pid is not None:
            self._kill(seq, pid)
        self._settle(seq, None, CallStoppedError(f"The call {seq} was stopped."))

    def _kill(self, seq: int, pid: int) -> None:
        with self._lock:  # the process cannot be marking itself finished meanwhile
            if self._finished[seq % _RING] != seq:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    return
                logger.info("Ended pool process %s (stopped call); the pool replaces it.", pid)

    def _read_starts(self) -> None:
        while True:
            item = self._started.get()
            if item is None:  # the shutdown sentinel
                return
            seq, pid = item
            with self._mutex:
                stop_now = seq in self._stop_when_started
                self._stop_when_started.discard(seq)
                if seq in self._calls:
                    self._pids[seq] = pid
            if stop_now:
                self._kill(seq, pid)

    def _settle(self, seq: int, value: Any, error: BaseException | None) -> None:
        with self._mutex:
            entry = self._calls.pop(seq, None)
            if seq not in self._stop_when_started:
                self._pids.pop(seq, None)
        if entry is None:
            return
        future = entry[1]
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close the pool: wait for its calls (``wait``) or end them (``cancel_futures``)."""
        self._pool.close()
        if cancel_futures:
            self._pool.terminate()
        if wait:
            self._pool.join()
        self._started.put(None)


class CallStoppedError(Exception):
    """The call's process was ended by `ReplacingProcessPool.stop_call`."""


def _bind(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not args and not kwargs:
        return fn
    return functools.partial(fn, *args, **kwargs)

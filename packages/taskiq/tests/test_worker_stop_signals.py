"""Stop signals that keep arriving while a child stops are harmless.

A child's event loop closes its self-pipe before it removes its signal
handlers; a stop signal landing in between used to print "Exception ignored
when trying to write to the signal wakeup fd: OSError: [Errno 9]", and one
landing after it killed the child with the default action. The test keeps
sending SIGTERM to the child for as long as it lives (as a terminal's Ctrl+C
to the process group, followed by the supervisor's own SIGTERM, would).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from worker_harness import Harness


async def _keep_signalling(pid: int) -> int:
    """SIGTERM ``pid`` every 2 ms until it is gone; return how many were sent."""
    sent = 0
    while True:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return sent
        sent += 1
        await asyncio.sleep(0.002)


async def test_signals_during_a_childs_stop_print_nothing_and_do_not_kill_it(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1")
    [child] = await harness.wait_items("started", 1)
    await harness.kick("record", "before-stop")
    await harness.wait_items("done", 1)
    spammer = asyncio.create_task(_keep_signalling(int(child)))
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0
    with contextlib.suppress(ProcessLookupError):
        os.kill(int(child), 0)
    sent = await asyncio.wait_for(spammer, 30)
    log = worker.log()
    assert sent > 1, log
    assert "signal wakeup fd" not in log
    assert "Bad file descriptor" not in log
    assert f"worker-0 (pid {child}) exited with code 0." in log

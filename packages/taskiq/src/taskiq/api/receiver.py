"""A worker as a coroutine: ``asyncio.create_task(run_receiver_task(broker))``."""

from __future__ import annotations

import asyncio
import logging

from taskiq.abc.broker import AsyncBroker
from taskiq.acks import AcknowledgeType
from taskiq.cli.worker.executor import build_executor
from taskiq.cli.worker.fetching import steady_source
from taskiq.receiver import Receiver

logger = logging.getLogger("taskiq.api")


async def run_receiver_task(
    broker: AsyncBroker,
    receiver_cls: type[Receiver] = Receiver,
    sync_workers: int | None = None,
    validate_params: bool = True,
    max_async_tasks: int = 100,
    max_prefetch: int = 0,
    propagate_exceptions: bool = True,
    run_startup: bool = False,
    ack_time: AcknowledgeType | None = None,
    use_process_pool: bool = False,
    max_process_pool_processes: int | None = None,
) -> None:
    """Run tasks delivered by ``broker`` in the running loop until cancelled.

    The parameters mirror ``taskiq worker`` flags: ``sync_workers`` is
    ``--max-threadpool-threads``, ``ack_time`` is ``--ack-type``.

    Cancelling the coroutine stops fetching at once, lets the tasks already
    running finish, and only then lets the cancellation through; cancelling
    it again while it waits abandons those tasks. The broker is started only
    when ``run_startup`` is true (the receiver does it); stopping it is left to
    the caller, who owns it.
    """
    executor = build_executor(sync_workers, use_process_pool, max_process_pool_processes)
    finish = asyncio.Event()
    receiver = receiver_cls(
        broker,
        executor=executor,
        validate_params=validate_params,
        max_async_tasks=max_async_tasks,
        max_prefetch=max_prefetch,
        propagate_exceptions=propagate_exceptions,
        run_startup=run_startup,
        ack_type=ack_time,
    )
    receiver.stream_source = steady_source()
    try:
        await _listen_until_cancelled(receiver, finish)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


async def _listen_until_cancelled(receiver: Receiver, finish: asyncio.Event) -> None:
    listening = asyncio.create_task(receiver.listen(finish))
    try:
        await asyncio.shield(listening)
    except asyncio.CancelledError:
        finish.set()
        logger.info("Worker cancelled: no new messages; finishing the running tasks.")
        await listening
        raise

"""Sending a step: one message for a sequential step, one per member for a fan-in step.

Every message gets the step's precomputed task id (members: `Step.member_id`),
so a step sent twice (a worker died after sending it, the broker redelivered
the message that sent it) is the same task twice, never a new one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.control.task_states import TaskStatus, TaskTransition, record
from taskiq.kicker import AsyncKicker

from taskiq_pipelines import labels
from taskiq_pipelines.steps import Call, Step

#: Members sent at once: enough to keep the broker busy, few enough to bound memory.
SEND_BATCH = 200


async def send_call(
    broker: AsyncBroker,
    call: Call,
    task_id: str,
    step_labels: dict[str, str],
    args: Sequence[Any],
    kwargs: dict[str, Any],
) -> None:
    """Send ``call`` as task ``task_id`` with the pipeline's labels."""
    task = broker.find_task(call.task_name)
    # A task registered here checks the arguments before sending; others go by name.
    kicker: AsyncKicker[Any, Any] = (
        AsyncKicker(call.task_name, broker, {}) if task is None else task.kicker()
    )
    await kicker.with_labels(**step_labels).with_task_id(task_id).kiq(*args, **kwargs)


async def send_members(
    broker: AsyncBroker,
    step: Step,
    step_labels: dict[str, str],
    inputs: Sequence[tuple[Call, Any]],
) -> None:
    """Send member ``i`` of ``step`` as ``call_i(input_i)``, in batches."""
    assert step.task_id is not None
    await record(broker, step.task_id, TaskTransition.now(TaskStatus.QUEUED))
    total = str(len(inputs))
    for start in range(0, len(inputs), SEND_BATCH):
        batch = inputs[start : start + SEND_BATCH]
        await asyncio.gather(
            *(
                _send_member(broker, step, step_labels, start + offset, total, call, value)
                for offset, (call, value) in enumerate(batch)
            ),
        )


async def _send_member(
    broker: AsyncBroker,
    step: Step,
    step_labels: dict[str, str],
    index: int,
    total: str,
    call: Call,
    value: Any,
) -> None:
    member_labels = {**step_labels, labels.MEMBER: str(index), labels.MEMBERS: total}
    args, kwargs = call.arguments(value)
    await send_call(broker, call, step.member_id(index), member_labels, args, kwargs)

"""Tasks the pipeline tests chain, registered on any broker by `register`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.decor import AsyncTaskiqDecoratedTask


@dataclass
class Tasks:
    """The registered tasks of one broker."""

    add_one: AsyncTaskiqDecoratedTask[[int], int]
    repeat: AsyncTaskiqDecoratedTask[[Any, int], list[Any]]
    check: AsyncTaskiqDecoratedTask[[int], bool]
    to_text: AsyncTaskiqDecoratedTask[..., Any]
    fail_on: AsyncTaskiqDecoratedTask[..., Any]
    total: AsyncTaskiqDecoratedTask[..., Any]
    describe: AsyncTaskiqDecoratedTask[..., Any]
    record_failure: AsyncTaskiqDecoratedTask[..., Any]
    slow: AsyncTaskiqDecoratedTask[..., Any]
    numbers: AsyncTaskiqDecoratedTask[[int], list[int]]
    seen: list[Any]


def register(broker: AsyncBroker) -> Tasks:  # noqa: C901 - one nested def per task
    """Register the test tasks on ``broker`` (names prefixed ``pipe_``)."""
    seen: list[Any] = []

    @broker.task(task_name="pipe_add_one")
    def add_one(value: int) -> int:
        return value + 1

    @broker.task(task_name="pipe_repeat")
    def repeat(value: Any, reps: int) -> list[Any]:
        return [value] * reps

    @broker.task(task_name="pipe_check")
    def check(value: int) -> bool:
        return value >= 0

    @broker.task(task_name="pipe_to_text")
    async def to_text(value: int) -> str:
        return f"#{value}"

    @broker.task(task_name="pipe_fail_on")
    def fail_on(value: int, bad: int = 3) -> int:
        if value == bad:
            raise ValueError(f"bad value {value}")
        return value

    @broker.task(task_name="pipe_total")
    def total(values: list[int]) -> int:
        return sum(values)

    @broker.task(task_name="pipe_describe")
    def describe(parts: list[Any]) -> str:
        return " ".join(str(part) for part in parts)

    @broker.task(task_name="pipe_record_failure")
    def record_failure(failure: dict[str, Any]) -> None:
        seen.append(failure)

    @broker.task(task_name="pipe_numbers")
    def numbers(count: int) -> list[int]:
        return list(range(count))

    @broker.task(task_name="pipe_slow")
    async def slow(value: int, seconds: float = 0.2) -> int:
        await asyncio.sleep(seconds)
        return value

    return Tasks(
        add_one,
        repeat,
        check,
        to_text,
        fail_on,
        total,
        describe,
        record_failure,
        slow,
        numbers,
        seen,
    )

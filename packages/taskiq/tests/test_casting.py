"""Arguments are cast to the annotated parameter types, best effort."""

from __future__ import annotations

import dataclasses
import logging
import signal
from typing import Any, Optional

import pydantic
import pytest
from taskiq import InMemoryBroker, TaskiqMessage
from taskiq.receiver.params import ArgumentBindError, TaskParameters
from worker_harness import Harness

DEADLINE = 20.0


class Point(pydantic.BaseModel):
    x: int
    y: int


@dataclasses.dataclass
class Size:
    width: int
    height: int


async def run(task: Any, *args: Any, **kwargs: Any) -> Any:
    return await (await task.kiq(*args, **kwargs)).wait_result(timeout=DEADLINE)


async def test_values_are_cast_to_annotations() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def describe(count: int, point: Point, size: Size, *, tags: list[int]) -> list[Any]:
        return [count, point, size, tags]

    result = await run(describe, "5", {"x": 1, "y": "2"}, {"width": 3, "height": 4}, tags=["7"])
    assert result.return_value == [5, Point(x=1, y=2), Size(3, 4), [7]]


async def test_a_value_that_does_not_cast_is_passed_as_is() -> None:
    broker = InMemoryBroker()

    @broker.task
    def kind(value: int) -> str:
        return type(value).__name__

    assert (await run(kind, "not a number")).return_value == "str"


def _uncast_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "does not cast" in record.getMessage()
    ]


async def test_a_value_that_does_not_cast_is_named_once_per_task_and_parameter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="shop:charge")
    def charge(cents: int, tags: list[int], note: Optional[int] = None) -> list[str]:  # noqa: UP045
        return [type(cents).__name__, type(tags[0]).__name__, type(note).__name__]

    with caplog.at_level(logging.WARNING, logger="taskiq.receiver"):
        for _ in range(3):
            result = await run(charge, "lots", ["x"], note=5)
            assert result.return_value == ["str", "str", "int"]
        await run(charge, "more", [1], note="n")
    assert _uncast_warnings(caplog) == [
        "Task 'shop:charge': argument 'cents' is a str that does not cast to int "
        "(Input should be a valid integer, unable to parse string as an integer); passing it "
        "as is. Send a value of the annotated type (this is logged once per task and parameter).",
        "Task 'shop:charge': argument 'tags' is a list that does not cast to list[int] "
        "(Input should be a valid integer, unable to parse string as an integer); passing it "
        "as is. Send a value of the annotated type (this is logged once per task and parameter).",
        "Task 'shop:charge': argument 'note' is a str that does not cast to Optional[int] "
        "(Input should be a valid integer, unable to parse string as an integer); passing it "
        "as is. Send a value of the annotated type (this is logged once per task and parameter).",
    ]


async def test_values_that_cast_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    broker = InMemoryBroker()

    @broker.task
    def double(value: int) -> int:
        return value * 2

    with caplog.at_level(logging.WARNING, logger="taskiq.receiver"):
        assert (await run(double, "21")).return_value == 42
    assert _uncast_warnings(caplog) == []


async def test_a_worker_logs_the_uncast_argument_once(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1")
    await harness.kick("typed", "not a number")
    await harness.kick("typed", "still not")
    await harness.kick("typed", "3")
    assert await harness.wait_items("done", 3) == ["str", "str", "int"]
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0
    line = "Task 'app:typed': argument 'value' is a str that does not cast to int"
    assert worker.log().count(line) == 1, worker.log()
    assert "WARNING" in worker.log().split(line)[0].splitlines()[-1]


async def test_cast_types_false_passes_values_unchanged() -> None:
    broker = InMemoryBroker(cast_types=False)

    @broker.task
    def kind(value: int, point: Point) -> list[str]:
        return [type(value).__name__, type(point).__name__]

    assert (await run(kind, "5", {"x": 1, "y": 2})).return_value == ["str", "dict"]


async def test_unannotated_and_variadic_parameters_are_left_alone() -> None:
    broker = InMemoryBroker()

    @broker.task
    def collect(first, *rest: int, **extra: int) -> list[Any]:  # type: ignore[no-untyped-def]
        return [first, rest, extra]

    result = await run(collect, "1", "2", key="3")
    assert result.return_value == ["1", ("2",), {"key": "3"}]


async def test_arguments_that_do_not_bind_give_an_error_result() -> None:
    broker = InMemoryBroker()

    @broker.task(task_name="strict")
    def strict(value: int) -> int:
        return value

    message = TaskiqMessage(
        task_id="bad-args",
        task_name="strict",
        args=[1, 2],
        kwargs={"other": 3},
    )
    await broker.kick(broker.formatter.dumps(message))
    await broker.wait_all()
    result = await broker.result_backend.get_result("bad-args")
    assert result.is_err
    assert isinstance(result.error, TypeError)
    assert "strict" in str(result.error)
    assert "too many positional arguments" in str(result.error)


def _sample(a: int, b: int = 2, *, c: int = 3) -> None: ...


def _positional_only(a: int, /, b: int) -> None: ...


@pytest.mark.parametrize(
    ("func", "args", "kwargs", "expected"),
    [
        (_sample, ["1"], {}, ((), {"a": 1})),
        (_sample, [1, "5"], {"c": "7"}, ((), {"a": 1, "b": 5, "c": 7})),
        (_sample, [], {"a": 1, "b": 2}, ((), {"a": 1, "b": 2})),
        (_positional_only, ["1", "2"], {}, ((1, 2), {})),
    ],
)
def test_binding_matches_python_call_rules(
    func: Any,
    args: list[Any],
    kwargs: dict[str, Any],
    expected: tuple[Any, ...],
) -> None:
    assert TaskParameters(func, cast_types=True).bind("t", args, kwargs) == expected


@pytest.mark.parametrize(
    ("args", "kwargs", "problem"),
    [
        ([1, 2, 3], {}, "too many positional arguments"),
        ([1], {"a": 1}, "multiple values for argument 'a'"),
        ([], {"b": 1}, "missing a required argument: 'a'"),
        ([1], {"d": 1}, "unexpected keyword argument 'd'"),
    ],
)
def test_arguments_that_break_call_rules_are_refused(
    args: list[Any],
    kwargs: dict[str, Any],
    problem: str,
) -> None:
    with pytest.raises(ArgumentBindError, match=problem):
        TaskParameters(_sample, cast_types=True).bind("t", args, kwargs)

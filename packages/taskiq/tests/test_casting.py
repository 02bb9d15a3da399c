"""Arguments are cast to the annotated parameter types, best effort."""

from __future__ import annotations

import dataclasses
from typing import Any

import pydantic
import pytest
from taskiq import InMemoryBroker, TaskiqMessage
from taskiq.receiver.params import ArgumentBindError, TaskParameters

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

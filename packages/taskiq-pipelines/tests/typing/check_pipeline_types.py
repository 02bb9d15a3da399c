"""Checked by mypy --strict (the workspace's mypy file list), never run: the typed API.

Every ``reveal_type`` is pinned with ``assert_type``; every line that must be
rejected carries ``# type: ignore[<code>]``, and ``warn_unused_ignores``
(on under --strict) fails the check if a rejection disappears.
"""

from __future__ import annotations

from typing import Any, TypeVar

from taskiq import InMemoryBroker
from taskiq.result import TaskiqResult
from taskiq_pipelines import Group, Pipeline, PipelineTask, chain
from typing_extensions import assert_type

broker = InMemoryBroker()
R = TypeVar("R")


def yields(pipeline: Pipeline[..., R]) -> R:
    """What the pipeline's ``wait_result().return_value`` is, to the type checker."""
    raise NotImplementedError


@broker.task
async def parse(text: str) -> int:
    return int(text)


@broker.task
def double(value: int) -> int:
    return value * 2


@broker.task
async def show(value: int) -> str:
    return str(value)


@broker.task
def split(text: str, sep: str = ",") -> list[str]:
    return text.split(sep)


@broker.task
def is_long(text: str) -> bool:
    return len(text) > 2


@broker.task
def takes_anything(value: object) -> float:
    return 1.0


@broker.task
def join(parts: tuple[int, str]) -> str:
    return f"{parts[0]}{parts[1]}"


async def check() -> None:
    # chain(a, b): b's first parameter takes a's result; the pipeline takes a's arguments.
    pipe = chain(parse, double)
    assert_type(yields(pipe), int)
    assert_type(yields(chain(parse, double, show)), str)
    assert_type(yields(chain(parse, takes_anything)), float)
    chain(parse, split)  # type: ignore[misc]  # split takes str, parse returns int

    # call_next is checked the same way; param_name= opts out of the positional check.
    assert_type(yields(Pipeline(broker, parse).call_next(show)), str)
    Pipeline(broker, parse).call_next(split)  # type: ignore[arg-type]
    assert_type(yields(Pipeline(broker, parse).call_next(split, param_name="text")), list[str])
    assert_type(yields(Pipeline(broker, parse).call_after(split, text="a")), list[str])

    # map and filter need an iterable result and a task taking its items.
    words = Pipeline(broker, split)
    assert_type(yields(words.map(is_long)), list[bool])
    assert_type(yields(words.filter(is_long)), list[str])
    words.map(double)  # type: ignore[arg-type]  # double takes int, the items are str
    Pipeline(broker, parse).map(double)  # type: ignore[misc]  # an int is not iterable

    # A group of tasks returning int and str yields tuple[int, str]; a chord's callback
    # must take that tuple.
    both = Group(skip_errors=False).add(double).add(show)
    assert_type(both, Group[int, str])
    chord = Pipeline(broker, parse).group(both).call_next(join)
    assert_type(yields(chord), str)
    Pipeline(broker, parse).group(both).call_next(double)  # type: ignore[arg-type]

    # kiq takes the first task's arguments; wait_result() returns the last step's type.
    task = await chain(parse, double).kiq("4")
    assert_type(task, PipelineTask[int])
    assert_type(await task.wait_result(), TaskiqResult[int])
    await chain(parse, double).kiq(4)  # type: ignore[arg-type]

    loaded = Pipeline.loads(broker, pipe.dumps())
    assert_type(loaded, Pipeline[..., Any])

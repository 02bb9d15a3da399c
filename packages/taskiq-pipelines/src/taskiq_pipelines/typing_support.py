"""The type a workflow step sees of a task: something that sends ``P`` and yields ``R``.

`Sends` matches any ``@broker.task`` through the overloads of its ``kiq``, so
the return type of an ``async def`` task is already unwrapped from its
coroutine: ``Sends[[int], str]`` is a task taking an ``int`` whose result is a
``str``, written sync or async. Workflow builders state their rules with it,
and a type checker then reports a step that cannot take the previous result.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from taskiq.task import AsyncTaskiqTask
from typing_extensions import ParamSpec

P = ParamSpec("P")
R = TypeVar("R")


class Sends(Protocol[P, R]):
    """A registered task taking ``P`` whose result is ``R``."""

    task_name: str

    async def kiq(self, *args: P.args, **kwargs: P.kwargs) -> AsyncTaskiqTask[R]:
        """Send the task (what ``@broker.task`` objects do)."""
        ...

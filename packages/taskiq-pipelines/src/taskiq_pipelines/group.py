"""A group: several tasks run side by side on one input; their results, as a tuple, in order.

``Group(skip_errors=...).add(t1, ...).add(t2, ...)`` has the type ``Group[R1, R2]``
for tasks returning ``R1`` and ``R2``; ``pipeline.group(g)`` then yields
``tuple[R1, R2]``. Each member receives the previous step's result like
``call_next`` does (first argument, or ``param_name=``), then its own arguments.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from typing_extensions import TypeVarTuple, Unpack

from taskiq_pipelines.steps import AFTER, Call, ParamName
from taskiq_pipelines.typing_support import Sends

Ts = TypeVarTuple("Ts")
R = TypeVar("R")


class Group(Generic[Unpack[Ts]]):
    """Tasks run in parallel on the same input; the step finishes when all have.

    With ``skip_errors=True`` a failed member leaves ``None`` in its slot
    instead of failing the workflow (the static type does not show the None).
    """

    def __init__(self: Group[Unpack[tuple[()]]], skip_errors: bool = False) -> None:
        self.skip_errors = skip_errors
        self.calls: tuple[Call, ...] = ()

    def add(
        self,
        task: Sends[..., R],
        *args: Any,
        param_name: ParamName = None,
        **kwargs: Any,
    ) -> Group[Unpack[Ts], R]:
        """Add a member: ``task(previous_result, *args, **kwargs)``.

        ``param_name="x"`` passes the previous result as keyword ``x`` instead;
        ``param_name=-1`` (`taskiq_pipelines.steps.AFTER`) does not pass it.
        """
        if isinstance(param_name, int) and param_name != AFTER:
            raise ValueError(f"param_name must be a name, None or {AFTER}, not {param_name!r}.")
        grown: Group[Unpack[Ts], R] = Group.__new__(Group)
        grown.skip_errors = self.skip_errors
        grown.calls = (*self.calls, Call(task.task_name, args, kwargs, param_name))
        return grown

    def __len__(self) -> int:
        return len(self.calls)

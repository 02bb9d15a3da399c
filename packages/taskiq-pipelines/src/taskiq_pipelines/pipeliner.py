"""`Pipeline`: a typed chain of steps, sent with ``kiq`` and advanced by `PipelineMiddleware`.

``Pipeline[P, R]`` takes the arguments ``P`` of its first task and yields ``R``,
the result of its last step. Each builder method returns a new pipeline typed
by the step it adds, so a type checker reports a step whose first parameter
cannot take the previous result (``call_next``, ``map``, ``filter``), and
knows what ``wait_result()`` returns. A pipeline is immutable: adding a step
never changes the pipeline it was added to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypeVar, overload

from typing_extensions import ParamSpec, Unpack

from taskiq_pipelines import labels
from taskiq_pipelines.fan_in import fan_in_of
from taskiq_pipelines.group import Group, Ts
from taskiq_pipelines.handle import PipelineTask
from taskiq_pipelines.sender import send_call
from taskiq_pipelines.steps import AFTER, Call, Step, StepKind, dumps_steps, loads_steps
from taskiq_pipelines.typing_support import Sends

if TYPE_CHECKING:  # pragma: no cover
    from taskiq.abc.broker import AsyncBroker

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
R2 = TypeVar("R2")
T = TypeVar("T")


class Pipeline(Generic[P, R_co]):
    """Steps run one after another, each on the previous one's result.

    Nothing waits: when a step's result is stored, the middleware in the worker
    sends the next step. The result of the last step is the pipeline's result.
    """

    def __init__(self, broker: AsyncBroker, task: Sends[P, R_co] | None = None) -> None:
        self.broker = broker
        self.steps: tuple[Step, ...] = ()
        if task is not None:
            self.steps = (Step("sequential", (Call(task.task_name),)),)

    # -- building ----------------------------------------------------------------------

    def _with(self, kind: StepKind, calls: tuple[Call, ...], **policy: Any) -> Any:
        if kind != "sequential" and not self.steps:
            raise ValueError(f"A pipeline cannot start with a {kind} step: start with a task.")
        grown: Pipeline[Any, Any] = Pipeline(self.broker)
        grown.steps = (*self.steps, Step(kind, calls, **policy))
        return grown

    @overload
    def call_next(
        self: Pipeline[P, R],
        task: Sends[Concatenate[R, P2], R2],
        param_name: None = None,
        **kwargs: Any,
    ) -> Pipeline[P, R2]: ...

    @overload
    def call_next(
        self: Pipeline[P, R],
        task: Sends[..., R2],
        param_name: str,
        **kwargs: Any,
    ) -> Pipeline[P, R2]: ...

    def call_next(
        self,
        task: Sends[..., Any],
        param_name: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Then run ``task(result, **kwargs)``, or ``task(**{param_name: result}, **kwargs)``."""
        if self.steps:
            return self._with("sequential", (Call(task.task_name, (), kwargs, param_name),))
        grown: Pipeline[Any, Any] = Pipeline(self.broker, task)
        grown.steps = (Step("sequential", (Call(task.task_name, (), kwargs, param_name),)),)
        return grown

    def call_after(self, task: Sends[..., R2], **kwargs: Any) -> Pipeline[P, R2]:
        """Then run ``task(**kwargs)`` without the previous result (but after it)."""
        calls = (Call(task.task_name, (), kwargs, AFTER),)
        if not self.steps:
            grown: Pipeline[P, R2] = Pipeline(self.broker)
            grown.steps = (Step("sequential", calls),)
            return grown
        return self._with("sequential", calls)  # type: ignore[no-any-return]

    @overload
    def map(
        self: Pipeline[P, Iterable[T]],
        task: Sends[Concatenate[T, P2], R2],
        param_name: None = None,
        skip_errors: bool = False,
        on_error: Sends[..., Any] | None = None,
        **kwargs: Any,
    ) -> Pipeline[P, list[R2]]: ...

    @overload
    def map(
        self: Pipeline[P, Iterable[Any]],
        task: Sends[..., R2],
        param_name: str,
        skip_errors: bool = False,
        on_error: Sends[..., Any] | None = None,
        **kwargs: Any,
    ) -> Pipeline[P, list[R2]]: ...

    def map(
        self,
        task: Sends[..., Any],
        param_name: str | None = None,
        skip_errors: bool = False,
        on_error: Sends[..., Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Then run ``task`` on every item of the result, in parallel: their results, in order.

        ``skip_errors=True`` drops the items whose task failed; otherwise one
        failure fails the workflow (after every member finished) and sends
        ``on_error``.
        """
        call = Call(task.task_name, (), kwargs, param_name)
        return self._with("map", (call,), skip_errors=skip_errors, on_error=_name(on_error))

    @overload
    def filter(
        self: Pipeline[P, Iterable[T]],
        task: Sends[Concatenate[T, P2], bool],
        param_name: None = None,
        skip_errors: bool = False,
        on_error: Sends[..., Any] | None = None,
        **kwargs: Any,
    ) -> Pipeline[P, list[T]]: ...

    @overload
    def filter(
        self: Pipeline[P, Iterable[T]],
        task: Sends[..., bool],
        param_name: str,
        skip_errors: bool = False,
        on_error: Sends[..., Any] | None = None,
        **kwargs: Any,
    ) -> Pipeline[P, list[T]]: ...

    def filter(
        self,
        task: Sends[..., bool],
        param_name: str | None = None,
        skip_errors: bool = False,
        on_error: Sends[..., Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Then keep the items of the result for which ``task(item)`` returns True, in order.

        ``skip_errors=True`` treats a failed check as False.
        """
        call = Call(task.task_name, (), kwargs, param_name)
        return self._with("filter", (call,), skip_errors=skip_errors, on_error=_name(on_error))

    def group(
        self,
        group: Group[Unpack[Ts]],
        on_error: Sends[..., Any] | None = None,
    ) -> Pipeline[P, tuple[Unpack[Ts]]]:
        """Then run the group's tasks side by side on the result: their results as a tuple.

        A group followed by ``call_next(callback)`` is a chord: the callback gets
        the tuple; ``on_error`` is sent instead when the group fails.
        """
        if not len(group):
            raise ValueError("A group needs at least one task: call Group().add(task) first.")
        return self._with(  # type: ignore[no-any-return]
            "group",
            group.calls,
            skip_errors=group.skip_errors,
            on_error=_name(on_error),
        )

    # -- running -----------------------------------------------------------------------

    async def kiq(self, *args: P.args, **kwargs: P.kwargs) -> PipelineTask[R_co]:
        """Send the first step; return a handle on the last step's result.

        Every step's task id is fixed here, so all of them are known at once
        (``handle.step_ids``). The first step gets ``args`` and ``kwargs``.
        """
        if not self.steps:
            raise ValueError("The pipeline has no steps: pass a task to Pipeline() first.")
        if any(step.is_fan_in for step in self.steps):
            fan_in_of(self.broker)  # a backend that cannot fan in fails here, not mid-way
        new_id = self.broker.id_generator
        pipeline_id = new_id()
        steps = tuple(step.with_id(new_id()) for step in self.steps)
        first = steps[0]
        assert first.task_id is not None
        step_labels = {labels.PIPELINE: dumps_steps(pipeline_id, steps), labels.STEP: "0"}
        call = first.call
        await send_call(
            self.broker,
            call,
            first.task_id,
            step_labels,
            [*args, *call.args],
            {**call.kwargs, **kwargs},
        )
        return PipelineTask(self.broker, pipeline_id, steps)

    # -- sharing -----------------------------------------------------------------------

    def dumps(self) -> str:
        """The pipeline as a JSON string (tasks by name); `Pipeline.loads` reads it back."""
        return dumps_steps(None, self.steps)

    @classmethod
    def loads(cls, broker: AsyncBroker, pipe_data: str | bytes) -> Pipeline[..., Any]:
        """The pipeline `dumps` wrote, sent through ``broker`` (`ValueError` if not one)."""
        _, steps = loads_steps(pipe_data)
        pipeline: Pipeline[..., Any] = cls(broker)
        pipeline.steps = tuple(step.with_id(None) for step in steps)
        return pipeline

    def __repr__(self) -> str:
        return f"Pipeline({' -> '.join(step.describe() for step in self.steps)})"


def _name(task: Sends[..., Any] | None) -> str | None:
    return None if task is None else task.task_name


@overload
def chain(first: Sends[P, R], second: Sends[Concatenate[R, P2], R2]) -> Pipeline[P, R2]: ...


@overload
def chain(
    first: Sends[P, R],
    second: Sends[Concatenate[R, ...], T],
    third: Sends[Concatenate[T, P2], R2],
) -> Pipeline[P, R2]: ...


def chain(
    first: Sends[..., Any],
    second: Sends[..., Any],
    third: Sends[..., Any] | None = None,
) -> Pipeline[..., Any]:
    """``first``, then ``second`` (then ``third``) on the previous result: a → b → c.

    The type checker sees that each task's first parameter takes the previous
    task's result. The broker is ``first``'s.
    """
    pipeline: Pipeline[..., Any] = Pipeline(_broker_of(first), first).call_next(second)
    if third is not None:
        pipeline = pipeline.call_next(third)
    return pipeline


def _broker_of(task: Sends[..., Any]) -> AsyncBroker:
    broker = getattr(task, "broker", None)
    if broker is None:
        raise TypeError(f"chain() takes tasks made with @broker.task, not {task!r}.")
    return broker  # type: ignore[no-any-return]

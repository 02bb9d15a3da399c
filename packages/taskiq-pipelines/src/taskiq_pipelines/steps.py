"""The steps of a workflow as plain data, so that a pipeline travels in a label.

A pipeline is a list of steps. Each step names the task(s) it sends and the
extra arguments; at ``kiq`` every step gets its task id, so the ids are known
before anything runs. A fan-in step (map, filter, group) has one aggregate id,
under which its combined result is stored, and member ids derived from it
(`member_id`).

The JSON form is versioned; `loads_steps` rejects what it does not understand
with a one-line `ValueError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Literal

FORMAT_VERSION = 1

#: How the previous step's result reaches a task: first positional argument
#: (``None``), a keyword argument (its name), or not at all (``AFTER``).
AFTER = -1
ParamName = str | int | None

StepKind = Literal["sequential", "map", "filter", "group"]
_KINDS = ("sequential", "map", "filter", "group")


@dataclass(frozen=True)
class Call:
    """One task call: the task's name, its extra arguments, where the input goes."""

    task_name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    param_name: ParamName = None

    def arguments(self, value: Any) -> tuple[list[Any], dict[str, Any]]:
        """The positional and keyword arguments of this call when its input is ``value``."""
        if self.param_name is None:
            return [value, *self.args], dict(self.kwargs)
        if self.param_name == AFTER:
            return list(self.args), dict(self.kwargs)
        return list(self.args), {**self.kwargs, str(self.param_name): value}

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task_name,
            "args": list(self.args),
            "kwargs": self.kwargs,
            "param_name": self.param_name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        return cls(
            task_name=str(data["task"]),
            args=tuple(data.get("args", ())),
            kwargs=dict(data.get("kwargs", {})),
            param_name=data.get("param_name"),
        )


@dataclass(frozen=True)
class Step:
    """One step: a call (sequential, map, filter) or several (group), and its policy.

    - ``skip_errors``: for fan-in steps, a failed member does not fail the step
      (map drops it, filter treats it as False, group leaves None in its slot).
    - ``on_error``: a task sent once, with a `failure` dict, when the step fails.
    - ``task_id``: assigned at kiq; the id the step's result is stored under.
    """

    kind: StepKind
    calls: tuple[Call, ...]
    skip_errors: bool = False
    on_error: str | None = None
    task_id: str | None = None

    @property
    def is_fan_in(self) -> bool:
        """True when the step runs several members and combines their results."""
        return self.kind != "sequential"

    @property
    def call(self) -> Call:
        """The single call of a sequential, map or filter step."""
        return self.calls[0]

    def with_id(self, task_id: str | None) -> Step:
        return replace(self, task_id=task_id)

    def member_id(self, index: int) -> str:
        """The task id of member ``index`` (derived, so it is known before it is sent)."""
        return f"{self.task_id}.{index}"

    def describe(self) -> str:
        """The step in a few words, for errors and tables (``map(add_one)``)."""
        names = ", ".join(call.task_name for call in self.calls)
        return names if self.kind == "sequential" else f"{self.kind}({names})"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "calls": [call.to_json() for call in self.calls],
            "skip_errors": self.skip_errors,
            "on_error": self.on_error,
            "task_id": self.task_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        kind = data["kind"]
        if kind not in _KINDS:
            raise ValueError(f"unknown step kind {kind!r}")
        return cls(
            kind=kind,
            calls=tuple(Call.from_json(call) for call in data["calls"]),
            skip_errors=bool(data.get("skip_errors", False)),
            on_error=data.get("on_error"),
            task_id=data.get("task_id"),
        )


def dumps_steps(pipeline_id: str | None, steps: tuple[Step, ...]) -> str:
    """The JSON text of a pipeline (what `Pipeline.dumps` returns and labels carry)."""
    return json.dumps(
        {
            "version": FORMAT_VERSION,
            "id": pipeline_id,
            "steps": [step.to_json() for step in steps],
        },
        separators=(",", ":"),
    )


def loads_steps(text: str | bytes) -> tuple[str | None, tuple[Step, ...]]:
    """The pipeline id and steps `dumps_steps` wrote; `ValueError` saying why if not one."""
    try:
        data = json.loads(text)
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"format version {data.get('version')!r}, not {FORMAT_VERSION}")
        steps = tuple(Step.from_json(step) for step in data["steps"])
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise ValueError(f"Not a serialized pipeline: {exc}.") from exc
    return data.get("id"), steps

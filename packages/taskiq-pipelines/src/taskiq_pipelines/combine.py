"""Combining the members' results of a fan-in step into the step's result.

- map: the members' values, in input order (``skip_errors``: failed ones left out);
- filter: the input items whose member returned True (``skip_errors``: a failed
  check counts as False);
- group: a tuple of the members' values, in the order they were added
  (``skip_errors``: None where a member failed).

Without ``skip_errors`` the step fails with its first failed member, by position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from taskiq.result import TaskiqResult

from taskiq_pipelines.steps import Step


@dataclass(frozen=True)
class Failure:
    """The first failed member of a step: its index and its error."""

    member: int
    error: BaseException | None


def combine(
    step: Step,
    results: Sequence[TaskiqResult[Any]],
    items: Sequence[Any] | None = None,
) -> Any:
    """The step's combined value, or a `Failure` naming the member that failed it."""
    if not step.skip_errors:
        for index, result in enumerate(results):
            if result.is_err:
                return Failure(index, result.error)
    if step.kind == "map":
        return [result.return_value for result in results if not result.is_err]
    if step.kind == "filter":
        kept = items if items is not None else []
        return [item for item, result in zip(kept, results, strict=False) if _kept(result)]
    return tuple(None if result.is_err else result.return_value for result in results)


def _kept(result: TaskiqResult[Any]) -> bool:
    return not result.is_err and bool(result.return_value)

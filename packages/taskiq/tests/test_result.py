"""TaskiqResult: fields, raise_for_error, and a JSON round trip as backends store it."""

from __future__ import annotations

import json
import pickle

import pytest
from taskiq import TaskiqResult


def test_successful_result_fields_and_raise_for_error_returns_self() -> None:
    result: TaskiqResult[int] = TaskiqResult(
        is_err=False,
        return_value=42,
        execution_time=0.5,
        labels={"priority": 1},
        log="started",
    )
    assert result.raise_for_error() is result
    assert (result.return_value, result.execution_time) == (42, 0.5)
    assert (result.labels, result.log, result.error) == ({"priority": 1}, "started", None)
    assert str(result) == "42"


def test_failed_result_raises_its_error() -> None:
    error = KeyError("missing")
    result: TaskiqResult[None] = TaskiqResult(
        is_err=True,
        return_value=None,
        execution_time=0.1,
        error=error,
    )
    with pytest.raises(KeyError) as caught:
        result.raise_for_error()
    assert caught.value is error
    assert str(result) == "error: KeyError('missing')"


def test_json_round_trip_keeps_value_labels_and_error() -> None:
    result: TaskiqResult[dict[str, int]] = TaskiqResult(
        is_err=True,
        return_value={"a": 1},
        execution_time=1.25,
        labels={"retry": 2},
        error=ValueError("bad input"),
    )
    stored = json.dumps(result.model_dump(mode="json"))
    loaded = TaskiqResult[dict[str, int]].model_validate(json.loads(stored))
    assert (loaded.is_err, loaded.return_value) == (True, {"a": 1})
    assert (loaded.execution_time, loaded.labels) == (1.25, {"retry": 2})
    assert isinstance(loaded.error, ValueError)
    assert str(loaded.error) == "bad input"


def test_generic_parameter_validates_the_return_value() -> None:
    loaded = TaskiqResult[int].model_validate(
        {"is_err": False, "return_value": "7", "execution_time": 0},
    )
    assert loaded.return_value == 7


def test_result_with_error_pickles() -> None:
    result: TaskiqResult[None] = TaskiqResult(
        is_err=True,
        return_value=None,
        execution_time=0,
        error=RuntimeError("boom"),
    )
    loaded = pickle.loads(pickle.dumps(result))
    assert isinstance(loaded.error, RuntimeError)
    assert str(loaded.error) == "boom"


class NeedsTwoArgumentsError(Exception):
    """Plain pickle cannot rebuild it: its __init__ does not take its message."""

    def __init__(self, code: int, where: str) -> None:
        super().__init__(f"code {code} at {where}")
        self.code = code


def test_result_with_an_exception_pickle_cannot_rebuild_still_pickles() -> None:
    with pytest.raises(TypeError):
        pickle.loads(pickle.dumps(NeedsTwoArgumentsError(1, "db")))
    result: TaskiqResult[None] = TaskiqResult(
        is_err=True,
        return_value=None,
        execution_time=0,
        error=NeedsTwoArgumentsError(7, "db"),
    )
    loaded = pickle.loads(pickle.dumps(result))
    assert type(loaded.error) is NeedsTwoArgumentsError
    assert (str(loaded.error), loaded.error.code) == ("code 7 at db", 7)
    assert loaded.model_dump(exclude={"error"}) == result.model_dump(exclude={"error"})

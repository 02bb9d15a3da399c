"""The exception hierarchy: what each error means, says, and how it travels."""

from __future__ import annotations

import pickle

import pytest
import taskiq
from taskiq import exceptions

ALL_ERRORS = sorted(
    (
        value
        for value in vars(exceptions).values()
        if isinstance(value, type) and issubclass(value, exceptions.TaskiqError)
    ),
    key=lambda cls: cls.__name__,
)

#: Details that fill every placeholder used by the templates.
DETAILS = {
    "reason": "because",
    "task_id": "abc",
    "task_name": "mod:task",
    "timeout": 5,
    "service": "Redis",
    "address": "127.0.0.1:6379",
    "schedule_id": "nightly",
    "feature": "dead letters",
    "implementation": "InMemoryBroker",
}


def test_the_hierarchy_the_spec_names() -> None:
    for cls in (
        exceptions.BrokerError,
        exceptions.ResultBackendError,
        exceptions.SecurityError,
        exceptions.TaskiqResultTimeoutError,
        exceptions.ScheduledTaskCancelledError,
        exceptions.TaskRejectedError,
    ):
        assert issubclass(cls, exceptions.TaskiqError)
    assert issubclass(exceptions.SendTaskError, exceptions.BrokerError)
    assert issubclass(exceptions.SharedBrokerSendTaskError, exceptions.SendTaskError)
    assert issubclass(exceptions.NoResultError, exceptions.ResultGetError)
    assert issubclass(exceptions.ResultGetError, exceptions.ResultBackendError)
    assert issubclass(exceptions.TaskTimeoutError, TimeoutError)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_is_exported_from_taskiq(cls: type[exceptions.TaskiqError]) -> None:
    assert getattr(taskiq, cls.__name__) is cls
    assert cls.__name__ in taskiq.__all__


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_default_message_is_filled_and_says_what_to_do(
    cls: type[exceptions.TaskiqError],
) -> None:
    message = str(cls(**DETAILS))
    assert "{" not in message, "every placeholder must be filled"
    assert message.endswith((".", ")")) or "because" in message
    assert len(message.split()) >= 5, f"{cls.__name__} needs a descriptive message"


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda cls: cls.__name__)
def test_every_error_pickles_with_message_and_details(
    cls: type[exceptions.TaskiqError],
) -> None:
    error = cls(**DETAILS)
    loaded = pickle.loads(pickle.dumps(error))
    assert type(loaded) is cls
    assert str(loaded) == str(error)
    assert loaded.details == DETAILS
    assert loaded.task_id == "abc"  # type: ignore[attr-defined]


def test_details_become_attributes_and_fill_the_template() -> None:
    error = exceptions.NoResultError(task_id="t-1")
    assert error.task_id == "t-1"  # type: ignore[attr-defined]
    assert "'t-1'" in str(error)
    assert "check is_ready()" in str(error)


def test_explicit_message_wins_and_details_are_kept() -> None:
    error = exceptions.SendTaskError("queue full", reason="full")
    assert str(error) == "queue full"
    assert error.reason == "full"  # type: ignore[attr-defined]


def test_missing_detail_falls_back_to_the_bare_template() -> None:
    message = str(exceptions.ResultGetError())
    assert message.startswith("Cannot read the result of task")


def test_shared_broker_error_tells_how_to_fix_it() -> None:
    message = str(exceptions.SharedBrokerSendTaskError())
    assert "default_broker" in message
    assert "with_broker" in message

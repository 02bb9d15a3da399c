"""The per-task fast paths keep the behaviour of the slow ones they replace."""

from __future__ import annotations

import datetime
import inspect
import math
import os
import random
import uuid
from typing import Any

import pytest
from taskiq import InMemoryBroker, TaskiqResult
from taskiq.abc.broker import default_id_generator
from taskiq.binding import PlainBinder
from taskiq.exceptions import SendTaskError
from taskiq.message import TaskiqMessage
from taskiq.serializers import JSONSerializer, PickleSerializer
from taskiq.serializers.model_codec import dump_model, load_model

# -- task ids ---------------------------------------------------------------------------


def test_task_ids_are_version_4_uuids_in_hex() -> None:
    ids = {default_id_generator() for _ in range(1000)}
    assert len(ids) == 1000
    for task_id in ids:
        parsed = uuid.UUID(hex=task_id)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, task_id)


def test_seeding_random_does_not_repeat_task_ids() -> None:
    random.seed(7)
    first = default_id_generator()
    random.seed(7)
    assert default_id_generator() != first


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")  # 3.12+ warns in threaded tests
def test_a_forked_child_does_not_repeat_its_parents_task_ids() -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.write(write_end, default_id_generator().encode())
        os._exit(0)
    os.close(write_end)
    parent_next = default_id_generator()
    with os.fdopen(read_end, "rb") as reader:
        child_next = reader.read().decode()
    os.waitpid(pid, 0)
    assert len(child_next) == 32
    assert child_next != parent_next


# -- binding ----------------------------------------------------------------------------


def _binder(func: Any) -> PlainBinder:
    return PlainBinder(inspect.signature(func))


def _plain(a: int, b: int = 2, *, c: int = 3) -> None: ...


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((1,), {}, {"a": 1}),
        ((1, 5), {"c": 6}, {"a": 1, "b": 5, "c": 6}),
        ((), {"a": 1, "b": 5}, {"a": 1, "b": 5}),
        ((), {"b": 5}, None),  # a missing
        ((1, 2, 3), {}, None),  # too many positional
        ((1,), {"a": 1}, None),  # a twice
        ((1,), {"d": 1}, None),  # unknown keyword
    ],
)
def test_plain_binding_agrees_with_inspect(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    expected: dict[str, Any] | None,
) -> None:
    assert _binder(_plain).bind(args, kwargs) == expected
    assert _binder(_plain).fits(args, kwargs) is (expected is not None)
    try:
        inspect.signature(_plain).bind(*args, **kwargs)
    except TypeError:
        assert expected is None
    else:
        assert expected is not None


def test_positional_calls_check_required_keyword_only_and_defaults() -> None:
    def keyword_required(a: int, *, k: int) -> None: ...

    def defaults_first(a: int = 1, b: int = 2) -> None: ...

    assert not _binder(keyword_required).fits((1,), {})
    assert _binder(keyword_required).fits((1,), {"k": 2})
    assert [_binder(defaults_first).fits(args, {}) for args in [(), (1,), (1, 2), (1, 2, 3)]] == [
        True,
        True,
        True,
        False,
    ]


def test_variadic_or_positional_only_signatures_take_the_slow_path() -> None:
    def variadic(*args: int) -> None: ...

    def positional_only(a: int, /) -> None: ...

    assert _binder(variadic).bind((1,), {}) is None
    assert _binder(positional_only).bind((1,), {}) is None


async def test_kiq_still_explains_arguments_that_do_not_fit() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b

    with pytest.raises(SendTaskError, match="missing a required argument: 'b'"):
        await add.kiq(1)
    with pytest.raises(SendTaskError, match="unexpected keyword argument 'z'"):
        await add.kiq(1, 2, z=3)
    assert (await (await add.kiq(1, b=2)).wait_result(timeout=5)).return_value == 3
    await broker.shutdown()


# -- model codec ------------------------------------------------------------------------


def _message(*args: Any) -> TaskiqMessage:
    return TaskiqMessage(task_id="id", task_name="t", labels={"x": 1}, args=list(args))


def test_json_fast_path_writes_json_any_reader_decodes() -> None:
    import json

    message = _message(1, "é", [1.5], {"k": None}, datetime.date(2026, 1, 2))
    raw = dump_model(JSONSerializer(), message)
    assert json.loads(raw) == {
        "task_id": "id",
        "task_name": "t",
        "labels": {"x": 1},
        "labels_types": None,
        "args": [1, "é", [1.5], {"k": None}, "2026-01-02"],
        "kwargs": {},
    }
    assert load_model(JSONSerializer(), TaskiqMessage, raw).args[:4] == [1, "é", [1.5], {"k": None}]


def test_nan_and_infinity_survive_like_with_python_json() -> None:
    raw = dump_model(JSONSerializer(), _message(math.nan, math.inf))
    args = load_model(JSONSerializer(), TaskiqMessage, raw).args
    assert math.isnan(args[0])
    assert args[1] == math.inf
    result = TaskiqResult(is_err=False, return_value=-math.inf, execution_time=0.0)
    loaded = load_model(JSONSerializer(), TaskiqResult, dump_model(JSONSerializer(), result))
    assert loaded.return_value == -math.inf


def test_a_value_json_cannot_carry_is_an_error_not_garbage() -> None:
    with pytest.raises((ValueError, TypeError)):
        dump_model(JSONSerializer(), _message(object()))
    with pytest.raises(ValueError):
        load_model(JSONSerializer(), TaskiqMessage, b"{not json")


def test_other_serializers_get_python_objects_when_they_accept_them() -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    raw = dump_model(PickleSerializer(), _message(when))
    assert load_model(PickleSerializer(), TaskiqMessage, raw).args == [when]


def test_a_json_serializer_subclass_is_used_as_written() -> None:
    class Tagged(JSONSerializer):
        def dumpb(self, value: Any) -> bytes:
            return b"tagged:" + super().dumpb(value)

        def loadb(self, value: bytes) -> Any:
            return super().loadb(value.removeprefix(b"tagged:"))

    raw = dump_model(Tagged(), _message(1))
    assert raw.startswith(b"tagged:")
    assert load_model(Tagged(), TaskiqMessage, raw).args == [1]

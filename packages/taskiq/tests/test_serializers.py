"""Every serializer: a value round trip, a task round trip, errors, missing extras."""

from __future__ import annotations

import datetime
import sys
import uuid
from typing import Any

import pytest
from taskiq import InMemoryBroker, SendTaskError, TaskiqSerializer
from taskiq.serializers import (
    CBORSerializer,
    JSONSerializer,
    MSGPackSerializer,
    ORJSONSerializer,
    PickleSerializer,
)

ALL = [JSONSerializer, ORJSONSerializer, MSGPackSerializer, CBORSerializer, PickleSerializer]
VALUE = {"text": "héllo", "int": 7, "float": 2.5, "none": None, "list": [1, "a", True]}


class Opaque:
    """Nothing but pickle can encode it."""


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
def test_values_round_trip(cls: type[TaskiqSerializer]) -> None:
    serializer = cls()
    encoded = serializer.dumpb(VALUE)
    assert isinstance(encoded, bytes)
    assert serializer.loadb(encoded) == VALUE


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
async def test_task_round_trips_through_in_memory_broker(cls: type[TaskiqSerializer]) -> None:
    broker = InMemoryBroker().with_serializer(cls())
    seen: list[Any] = []

    @broker.task
    async def echo(value: dict[str, Any], *, scale: int) -> int:
        seen.append(value)
        return scale * 2

    await broker.startup()
    result = await (await echo.kiq(VALUE, scale=4)).wait_result(timeout=20)
    await broker.shutdown()
    assert (result.is_err, result.return_value) == (False, 8)
    assert seen == [VALUE]


UTC = datetime.timezone.utc
PARIS_SUMMER = datetime.timezone(datetime.timedelta(hours=2))


@pytest.mark.parametrize("cls", [MSGPackSerializer, CBORSerializer], ids=lambda cls: cls.__name__)
def test_binary_serializers_round_trip_dates_and_uuids(cls: type[TaskiqSerializer]) -> None:
    serializer = cls()
    value = {
        "aware": datetime.datetime(2030, 1, 31, 9, 30, 15, 123456, tzinfo=PARIS_SUMMER),
        "day": datetime.date(2030, 1, 31),
        "id": uuid.UUID("6f1d2c4e-3b7a-4f8e-9c5d-2a1b0e9f8d7c"),
        "nested": [datetime.date(1969, 7, 20), {"id": uuid.UUID(int=1)}],
    }
    decoded = serializer.loadb(serializer.dumpb(value))
    assert decoded == value
    assert type(decoded["day"]) is datetime.date
    assert type(decoded["id"]) is uuid.UUID


@pytest.mark.parametrize("cls", [MSGPackSerializer, CBORSerializer], ids=lambda cls: cls.__name__)
def test_binary_serializers_read_a_naive_datetime_as_utc(cls: type[TaskiqSerializer]) -> None:
    serializer = cls()
    decoded = serializer.loadb(serializer.dumpb(datetime.datetime(2030, 1, 31, 9, 30)))
    assert decoded == datetime.datetime(2030, 1, 31, 9, 30, tzinfo=UTC)


def test_msgpack_default_still_converts_other_types() -> None:
    serializer = MSGPackSerializer(default=lambda value: f"opaque:{type(value).__name__}")
    assert serializer.loadb(serializer.dumpb([Opaque(), uuid.UUID(int=2)])) == [
        "opaque:Opaque",
        uuid.UUID(int=2),
    ]


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
async def test_tasks_get_dates_and_uuids_back_with_every_serializer(
    cls: type[TaskiqSerializer],
) -> None:
    broker = InMemoryBroker().with_serializer(cls())
    when = datetime.datetime(2030, 1, 31, 9, 30, tzinfo=UTC)
    ident = uuid.UUID(int=3)

    @broker.task
    async def describe(at: datetime.datetime, day: datetime.date, key: uuid.UUID) -> str:
        return f"{type(at).__name__} {type(day).__name__} {type(key).__name__} {at} {day} {key}"

    await broker.startup()
    result = await (await describe.kiq(when, when.date(), ident)).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == f"datetime date UUID {when} {when.date()} {ident}"


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: cls.__name__)
def test_garbage_raises_value_error(cls: type[TaskiqSerializer]) -> None:
    with pytest.raises(ValueError):
        cls().loadb(b"\xc1\xff\x00garbage")


@pytest.mark.parametrize(
    "cls",
    [JSONSerializer, ORJSONSerializer, MSGPackSerializer, CBORSerializer],
    ids=lambda cls: cls.__name__,
)
def test_unsupported_values_raise_type_or_value_error(cls: type[TaskiqSerializer]) -> None:
    with pytest.raises((TypeError, ValueError)):
        cls().dumpb(Opaque())


async def test_pickle_carries_arbitrary_objects_as_arguments() -> None:
    broker = InMemoryBroker().with_serializer(PickleSerializer())

    @broker.task
    async def kind(value: Any) -> str:
        return type(value).__name__

    await broker.startup()
    result = await (await kind.kiq(Opaque())).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == "Opaque"


async def test_json_default_refuses_arbitrary_objects_with_send_task_error() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def kind(value: Any) -> str:
        return type(value).__name__

    with pytest.raises(SendTaskError, match="argument 'value'"):
        await kind.kiq(Opaque())


@pytest.mark.parametrize(
    ("cls", "module", "extra"),
    [
        (ORJSONSerializer, "orjson", "orjson"),
        (MSGPackSerializer, "msgpack", "msgpack"),
        (CBORSerializer, "cbor2", "cbor"),
    ],
    ids=["orjson", "msgpack", "cbor"],
)
def test_missing_library_names_the_extra(
    cls: type[TaskiqSerializer],
    module: str,
    extra: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf'pip install "taskiq\[{extra}\]"'):
        cls()


def test_documented_module_paths() -> None:
    from taskiq.serializers.cbor_serializer import CBORSerializer as Cbor
    from taskiq.serializers.json_serializer import JSONSerializer as Json
    from taskiq.serializers.msgpack_serializer import MSGPackSerializer as Msgpack
    from taskiq.serializers.orjson_serializer import ORJSONSerializer as Orjson
    from taskiq.serializers.pickle_serializer import PickleSerializer as Pickle

    assert [Json, Orjson, Msgpack, Cbor, Pickle] == ALL

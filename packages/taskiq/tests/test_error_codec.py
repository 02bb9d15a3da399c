"""Errors across the wire: faithful when the class is known, inert when forged."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from taskiq import InMemoryBroker, NoResultError, SecurityError, TaskiqResult
from taskiq.error_codec import RemoteTaskError, decode_exception, encode_exception


class QuotaExceededError(Exception):
    """A user exception whose __init__ does not take its message."""

    def __init__(self, used: int, limit: int) -> None:
        super().__init__(f"used {used} of {limit}")
        self.used = used
        self.limit = limit


class LoudInitError(Exception):
    """Its __init__ must never run while decoding."""

    constructed = 0

    def __init__(self, message: str) -> None:
        type(self).constructed += 1
        super().__init__(message)


class ClaimsBuiltinError(Exception):
    """Claims to be a builtin; its __init__ must still never run while decoding."""

    constructed = 0

    def __init__(self, message: str) -> None:
        type(self).constructed += 1
        super().__init__(message)


ClaimsBuiltinError.__module__ = "builtins"


class HookedError(Exception):
    """Records every call of its ``__str__`` and ``__setattr__``: decoding must make none."""

    calls: list[str] = []

    def __str__(self) -> str:
        type(self).calls.append("__str__")
        return f"hooked {self.args[0]}"

    def __setattr__(self, name: str, value: Any) -> None:
        type(self).calls.append(f"__setattr__ {name}")
        super().__setattr__(name, value)


def wire(exc: BaseException) -> BaseException:
    """Store a failed result as JSON and read it back, as a result backend does."""
    result: TaskiqResult[None] = TaskiqResult(
        is_err=True, return_value=None, execution_time=0, error=exc
    )
    stored = json.dumps(result.model_dump(mode="json"))
    loaded = TaskiqResult[None].model_validate(json.loads(stored))
    assert loaded.error is not None
    return loaded.error


def forged(type_name: str, message: str = "forged") -> dict[str, Any]:
    return {"type": type_name, "message": message, "args": [message], "attrs": {}}


def test_builtin_exception_survives_json() -> None:
    error = wire(ValueError("bad value"))
    assert type(error) is ValueError
    assert str(error) == "bad value"


def test_os_error_keeps_its_subclass_and_errno() -> None:
    error = wire(FileNotFoundError(2, "No such file"))
    assert isinstance(error, FileNotFoundError)
    assert error.errno == 2


def test_user_exception_keeps_type_message_and_attributes() -> None:
    error = wire(QuotaExceededError(3, 2))
    assert type(error) is QuotaExceededError
    assert str(error) == "used 3 of 2"
    assert (error.used, error.limit) == (3, 2)
    with pytest.raises(QuotaExceededError):
        raise error


def test_taskiq_error_keeps_type_and_details() -> None:
    error = wire(NoResultError(task_id="abc"))
    assert type(error) is NoResultError
    assert error.task_id == "abc"  # type: ignore[attr-defined]
    assert "'abc'" in str(error)


def test_decoding_never_runs_the_exception_init() -> None:
    payload = encode_exception(LoudInitError("hello"))
    before = LoudInitError.constructed
    error = decode_exception(json.loads(json.dumps(payload)))
    assert type(error) is LoudInitError
    assert str(error) == "hello"
    assert LoudInitError.constructed == before


def test_a_class_claiming_to_be_builtin_is_not_constructed() -> None:
    payload = encode_exception(ClaimsBuiltinError("hi"))
    payload["type"] = f"{__name__}:ClaimsBuiltinError"
    before = ClaimsBuiltinError.constructed
    error = decode_exception(payload)
    assert type(error) is ClaimsBuiltinError
    assert ClaimsBuiltinError.constructed == before


def test_decoding_never_runs_str_or_setattr_hooks() -> None:
    original = HookedError("x")
    original.code = 7  # type: ignore[attr-defined]
    payload = json.loads(json.dumps(encode_exception(original)))
    HookedError.calls.clear()
    error = decode_exception(payload)
    assert HookedError.calls == []
    assert type(error) is HookedError
    assert (error.args, error.code) == (("x",), 7)  # type: ignore[attr-defined]
    assert str(error) == "hooked x"  # the caller may run the hook; decoding did not


def test_a_message_the_builtin_str_does_not_reproduce_gives_a_stand_in() -> None:
    payload = encode_exception(LoudInitError("hello"))
    payload["message"] = "something else"
    error = decode_exception(payload)
    assert isinstance(error, RemoteTaskError)
    assert error.remote_message == "something else"


async def test_task_error_comes_back_through_the_broker() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def over_quota() -> None:
        raise QuotaExceededError(10, 5)

    await broker.startup()
    result = await (await over_quota.kiq()).wait_result(timeout=20)
    await broker.shutdown()
    with pytest.raises(QuotaExceededError, match="used 10 of 5"):
        result.raise_for_error()


def test_class_not_importable_here_gives_a_descriptive_stand_in() -> None:
    payload = forged("billing.errors:CardDeclinedError", "card 4242 declined")
    payload["traceback"] = "Traceback ...\nCardDeclinedError: card 4242 declined\n"
    error = decode_exception(payload)
    assert isinstance(error, RemoteTaskError)
    assert str(error) == "billing.errors:CardDeclinedError: card 4242 declined"
    assert error.type_name == "billing.errors:CardDeclinedError"
    assert "CardDeclinedError" in error.remote_traceback


def test_stand_in_keeps_the_original_type_name_on_the_next_hop() -> None:
    first = decode_exception(forged("billing.errors:CardDeclinedError", "declined"))
    again = wire(first)
    assert isinstance(again, RemoteTaskError)
    assert again.type_name == "billing.errors:CardDeclinedError"
    assert again.remote_message == "declined"


def test_missing_attribute_of_an_imported_module_gives_a_stand_in() -> None:
    assert isinstance(decode_exception(forged("json:NoSuchError")), RemoteTaskError)


@pytest.mark.parametrize(
    "type_name",
    [
        "os:system",
        "builtins:eval",
        "builtins:exec",
        "subprocess:Popen",
        "collections:OrderedDict",
        "pickle:loads",
        "json:JSONDecodeError.__init__",
        "builtins:__import__",
        "taskiq.error_codec:_resolve",
        "os:_exit",
    ],
)
def test_forged_names_raise_security_error(type_name: str) -> None:
    import subprocess  # noqa: F401 - make sure the module is imported, as in a real app

    with pytest.raises(SecurityError, match="Refused to decode an unsafe payload"):
        decode_exception(forged(type_name, "echo pwned"))


@pytest.mark.parametrize("payload", [None, "os:system", ["os:system"], {"type": 1}, {}])
def test_payload_that_is_not_an_error_object_raises_security_error(payload: Any) -> None:
    with pytest.raises(SecurityError):
        decode_exception(payload)


def test_forged_result_json_raises_security_error_on_load() -> None:
    stored = {
        "is_err": True,
        "return_value": None,
        "execution_time": 0,
        "error": forged("os:system", "touch /tmp/pwned"),
    }
    with pytest.raises(SecurityError):
        TaskiqResult[None].model_validate(stored)


@pytest.mark.parametrize("type_name", ["builtins:SystemExit", "builtins:KeyboardInterrupt"])
def test_process_control_exceptions_become_harmless_stand_ins(type_name: str) -> None:
    error = decode_exception(forged(type_name, "0"))
    assert isinstance(error, RemoteTaskError)


SIDE_EFFECT_MODULE = """
from pathlib import Path
Path({marker!r}).write_text("imported")


class BoomError(Exception):
    pass


def __getattr__(name):
    Path({marker!r}).write_text("module __getattr__ ran for " + name)
    raise AttributeError(name)
"""


def test_forged_payload_never_imports_the_module_it_names(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = tmp_path / "side_effect_happened"
    module = "taskiq_forged_side_effect_module"
    (tmp_path / f"{module}.py").write_text(SIDE_EFFECT_MODULE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in (f"{module}:BoomError", f"{module}:anything", f"{module}.sub:BoomError"):
        error = decode_exception(forged(name))
        assert isinstance(error, RemoteTaskError)
    assert module not in sys.modules
    assert not marker.exists()


def test_lookup_never_triggers_module_getattr(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = tmp_path / "getattr_ran"
    module = "taskiq_forged_getattr_module"
    (tmp_path / f"{module}.py").write_text(SIDE_EFFECT_MODULE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__(module)
    marker.unlink()
    try:
        assert isinstance(decode_exception(forged(f"{module}:Lazy")), RemoteTaskError)
        assert not marker.exists()
    finally:
        sys.modules.pop(module, None)


def test_stand_in_pickles() -> None:
    error = RemoteTaskError("a.b:C", "message", "trace")
    loaded = pickle.loads(pickle.dumps(error))
    assert (loaded.type_name, loaded.remote_message, loaded.remote_traceback) == (
        "a.b:C",
        "message",
        "trace",
    )


def test_a_taskiq_error_rebuilt_without_its_attributes_still_prints() -> None:
    """Found by the fuzzing in reliability/: a payload naming one of our errors, bare."""
    from taskiq.error_codec import decode_exception
    from taskiq.exceptions import SecurityError

    error = decode_exception({"type": "taskiq.exceptions:SecurityError", "message": "forged"})
    assert isinstance(error, SecurityError)
    assert str(error) == "forged"
    bare = decode_exception({"type": "taskiq.exceptions:SecurityError"})
    assert isinstance(str(bare), str)

"""The object @broker.task returns: direct calls, kiq, kicker, attributes, pickling."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from taskiq import AsyncKicker, AsyncTaskiqDecoratedTask, AsyncTaskiqTask, InMemoryBroker


async def test_calling_an_async_task_runs_it_here() -> None:
    broker = InMemoryBroker()
    calls: list[int] = []

    @broker.task
    async def record(value: int) -> int:
        calls.append(value)
        return value * 2

    assert await record(4) == 8
    assert calls == [4]


def test_calling_a_sync_task_runs_it_here() -> None:
    broker = InMemoryBroker()

    @broker.task
    def double(value: int) -> int:
        return value * 2

    assert double(5) == 10


async def test_kiq_runs_the_task_and_returns_a_handle() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def double(value: int) -> int:
        return value * 2

    await broker.startup()
    sent = await double.kiq(21)
    result = await sent.wait_result(timeout=10)
    await broker.shutdown()
    assert isinstance(sent, AsyncTaskiqTask)
    assert result.return_value == 42


def test_task_exposes_its_name_broker_labels_and_function() -> None:
    broker = InMemoryBroker()

    def original(value: int) -> int:
        """Doubles."""
        return value * 2

    task = broker.register_task(original, "double", timeout=3)
    assert task.task_name == "double"
    assert task.broker is broker
    assert task.labels == {"timeout": 3}
    assert task.original_func is original
    assert getattr(task, "__name__", None) == "original"
    assert task.__doc__ == "Doubles."


def test_kicker_is_bound_to_the_task_and_copies_its_labels() -> None:
    broker = InMemoryBroker()

    @broker.task(label="default")
    def task() -> None:
        """No-op."""

    kicker = task.kicker().with_labels(label="changed")
    assert isinstance(kicker, AsyncKicker)
    assert (kicker.task_name, kicker.broker) == (task.task_name, broker)
    assert kicker.labels == {"label": "changed"}
    assert task.labels == {"label": "default"}


PICKLED_MODULE = """
from taskiq import InMemoryBroker

broker = InMemoryBroker()


@broker.task
def triple(value: int) -> int:
    return value * 3
"""


def test_task_pickles_by_reference_into_another_process(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "pickled_tasks_module.py").write_text(PICKLED_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import pickled_tasks_module  # type: ignore[import-not-found]

    payload = pickle.dumps(pickled_tasks_module.triple)
    assert b"InMemoryBroker" not in payload
    assert pickle.loads(payload) is pickled_tasks_module.triple
    child = textwrap.dedent(
        """
        import pickle, sys
        task = pickle.loads(sys.stdin.buffer.read())
        print(type(task).__name__, task.task_name, task(7))
        """,
    )
    completed = subprocess.run(
        [sys.executable, "-c", child],
        input=payload,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    expected = "AsyncTaskiqDecoratedTask pickled_tasks_module:triple 21"
    assert completed.stdout.decode().strip() == expected


def test_task_that_is_not_a_module_attribute_refuses_to_pickle() -> None:
    broker = InMemoryBroker()

    @broker.task
    def local_only() -> None:
        """Defined inside a function: no other process can import it."""

    with pytest.raises(pickle.PicklingError, match="Declare it at module level"):
        pickle.dumps(local_only)


def test_constructor_accepts_taskiqs_keywords_including_return_type() -> None:
    broker = InMemoryBroker()

    def original(value: int) -> int:
        return value

    task = AsyncTaskiqDecoratedTask(
        broker=broker,
        task_name="direct",
        original_func=original,
        labels={"a": 1},
        return_type=int,
    )
    assert (task.task_name, task.labels, task.return_type) == ("direct", {"a": 1}, int)
    assert task(3) == 3

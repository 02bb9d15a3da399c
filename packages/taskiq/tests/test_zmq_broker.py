"""ZeroMQBroker between this test (the client) and a real worker process."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import socket
import sys
import textwrap
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from taskiq import ZeroMQBroker
from taskiq.brokers.zmq_broker import ZeroMQBroker as FromModule
from taskiq.exceptions import BrokerConnectionError, ListenError, SendTaskError

APP = textwrap.dedent(
    '''
    """Broker, tasks and a file result backend shared by client and worker."""
    import os
    from pathlib import Path
    from typing import Any

    from taskiq import AsyncResultBackend, SmartRetryMiddleware, TaskiqResult, ZeroMQBroker
    from taskiq.exceptions import NoResultError

    RESULTS = Path(os.environ["ZMQ_TEST_RESULTS"])


    class FileResultBackend(AsyncResultBackend[Any]):
        async def set_result(self, task_id: str, result: TaskiqResult[Any]) -> None:
            tmp = RESULTS / f"{task_id}.tmp"
            tmp.write_text(result.model_dump_json())
            tmp.rename(RESULTS / f"{task_id}.json")

        async def is_result_ready(self, task_id: str) -> bool:
            return (RESULTS / f"{task_id}.json").exists()

        async def get_result(self, task_id: str, with_logs: bool = False) -> TaskiqResult[Any]:
            path = RESULTS / f"{task_id}.json"
            if not path.exists():
                raise NoResultError(task_id=task_id)
            return TaskiqResult.model_validate_json(path.read_text())


    address = f"tcp://127.0.0.1:{os.environ['ZMQ_TEST_PORT']}"
    broker = (
        ZeroMQBroker(zmq_pub_host=address, zmq_sub_host=address)
        .with_result_backend(FileResultBackend())
        .with_middlewares(SmartRetryMiddleware(default_delay=0.01))
    )


    @broker.task
    async def add(a: int, b: int) -> int:
        return a + b


    @broker.task
    def divide(a: int, b: int) -> float:
        return a / b


    @broker.task(retry_on_error=True)
    async def flaky() -> None:
        raise ValueError("needs a retry")
    ''',
)

WORKER = textwrap.dedent(
    """
    import asyncio
    import importlib
    import sys

    from taskiq.receiver import Receiver


    async def main() -> None:
        app = importlib.import_module(sys.argv[1])
        app.broker.is_worker_process = True
        await app.broker.startup()
        print("listening", flush=True)
        await Receiver(app.broker).listen(asyncio.Event())


    asyncio.run(main())
    """,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    """Write the shared app module; yield its module name and directory."""
    name = f"zmq_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(APP)
    (tmp_path / "worker.py").write_text(WORKER)
    results = tmp_path / "results"
    results.mkdir()
    monkeypatch.setenv("ZMQ_TEST_RESULTS", str(results))
    monkeypatch.setenv("ZMQ_TEST_PORT", str(free_port()))
    yield name, tmp_path
    sys.modules.pop(name, None)


def load_app(name: str, directory: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, directory / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def client_and_worker(app_env: tuple[str, Path]) -> AsyncIterator[ModuleType]:
    """The app started as a client, with a worker process subscribed to it."""
    name, directory = app_env
    app = load_app(name, directory)
    await app.broker.startup()
    env = {**os.environ, "PYTHONPATH": str(directory)}
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        str(directory / "worker.py"),
        name,
        cwd=directory,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # ZeroMQ drops what is published before the worker subscribed (slow joiner).
        await app.broker.wait_for_subscriber(timeout=30)
        yield app
    finally:
        worker.terminate()
        _, stderr = await asyncio.wait_for(worker.communicate(), 30)
        await app.broker.shutdown()
    # The worker was still running when we stopped it: no task crashed it.
    assert worker.returncode == -signal.SIGTERM, stderr.decode()


def test_importable_from_taskiq_and_its_module() -> None:
    assert ZeroMQBroker is FromModule


async def test_worker_process_runs_tasks_and_results_come_back(
    client_and_worker: ModuleType,
) -> None:
    app = client_and_worker
    added = await (await app.add.kiq(2, 3)).wait_result(timeout=20)
    divided = await (await app.divide.kiq(1, 4)).wait_result(timeout=20)
    assert added.return_value == 5
    assert divided.return_value == 0.25


async def test_task_error_crosses_the_process_boundary(client_and_worker: ModuleType) -> None:
    app = client_and_worker
    result = await (await app.divide.kiq(1, 0)).wait_result(timeout=20)
    assert result.is_err
    assert isinstance(result.error, ZeroDivisionError)


async def test_retry_from_a_worker_cannot_be_sent_and_the_failure_is_stored(
    client_and_worker: ModuleType,
) -> None:
    app = client_and_worker
    result = await (await app.flaky.kiq()).wait_result(timeout=20)
    assert isinstance(result.error, ValueError)
    assert str(result.error) == "needs a retry"


async def test_many_tasks_in_a_row_all_arrive(client_and_worker: ModuleType) -> None:
    app = client_and_worker
    tasks = [await app.add.kiq(i, i) for i in range(50)]
    results = [await task.wait_result(timeout=20) for task in tasks]
    assert [result.return_value for result in results] == [2 * i for i in range(50)]


async def test_kick_before_startup_is_a_clear_send_error() -> None:
    broker = ZeroMQBroker(zmq_pub_host=f"tcp://127.0.0.1:{free_port()}")

    @broker.task
    async def nothing() -> None: ...

    with pytest.raises(SendTaskError, match="startup"):
        await nothing.kiq()


async def test_worker_cannot_send_and_says_why() -> None:
    port = free_port()
    broker = ZeroMQBroker(zmq_sub_host=f"tcp://127.0.0.1:{port}")
    broker.is_worker_process = True

    @broker.task
    async def nothing() -> None: ...

    await broker.startup()
    try:
        with pytest.raises(SendTaskError, match="only receives tasks"):
            await nothing.kiq()
    finally:
        await broker.shutdown()


async def test_second_client_on_the_same_address_gets_a_connection_error() -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    first = ZeroMQBroker(zmq_pub_host=address)
    await first.startup()
    try:
        with pytest.raises(BrokerConnectionError, match="cannot bind"):
            await ZeroMQBroker(zmq_pub_host=address).startup()
    finally:
        await first.shutdown()


async def test_listen_without_startup_is_a_listen_error() -> None:
    broker = ZeroMQBroker()
    with pytest.raises(ListenError, match="is_worker_process"):
        await anext(broker.listen())


async def test_wait_for_subscriber_times_out_without_a_worker() -> None:
    broker = ZeroMQBroker(zmq_pub_host=f"tcp://127.0.0.1:{free_port()}")
    await broker.startup()
    try:
        with pytest.raises(TimeoutError):
            await broker.wait_for_subscriber(timeout=0.2)
    finally:
        await broker.shutdown()


async def test_listen_ends_when_the_worker_broker_shuts_down() -> None:
    port = free_port()
    broker = ZeroMQBroker(zmq_sub_host=f"tcp://127.0.0.1:{port}")
    broker.is_worker_process = True
    await broker.startup()
    stream = broker.listen()
    received: asyncio.Task[Any] = asyncio.create_task(anext(stream, None))
    await asyncio.sleep(0)
    await broker.shutdown()
    assert await asyncio.wait_for(received, 20) is None


async def test_has_subscriber_follows_a_worker_coming_and_going() -> None:
    import zmq
    import zmq.asyncio

    address = f"tcp://127.0.0.1:{free_port()}"
    broker = ZeroMQBroker(zmq_pub_host=address)
    await broker.startup()
    context = zmq.asyncio.Context()
    subscriber = context.socket(zmq.SUB)
    try:
        assert not broker.has_subscriber
        subscriber.connect(address)
        subscriber.setsockopt(zmq.SUBSCRIBE, b"")
        await broker.wait_for_subscriber(timeout=20)
        assert broker.has_subscriber
        subscriber.close(linger=0)
        for _ in range(2000):
            if not broker.has_subscriber:
                break
            await asyncio.sleep(0.01)
        assert not broker.has_subscriber
    finally:
        subscriber.close(linger=0)
        context.term()
        await broker.shutdown()

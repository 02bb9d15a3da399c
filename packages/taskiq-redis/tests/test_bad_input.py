"""Wrong URLs fail early with an error that names the host and hides the password."""

from __future__ import annotations

import pytest
from taskiq.exceptions import BrokerConnectionError
from taskiq_redis import RedisBroker

from conftest import free_port

SECRET = "s3cret-pa55"


async def test_unreachable_server_fails_startup_naming_the_host() -> None:
    port = free_port()
    broker = RedisBroker(f"redis://user:{SECRET}@127.0.0.1:{port}/0")
    with pytest.raises(BrokerConnectionError) as caught:
        await broker.startup()
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert SECRET not in str(caught.value)
    await broker.shutdown()


def test_url_with_a_wrong_scheme_fails_naming_the_host() -> None:
    with pytest.raises(BrokerConnectionError) as caught:
        RedisBroker(f"http://user:{SECRET}@example.invalid:6379/0")
    assert "example.invalid:6379" in str(caught.value)
    assert SECRET not in str(caught.value)


async def test_wrong_password_fails_startup_without_printing_it(redis_url: str) -> None:
    broker = RedisBroker(redis_url.replace("redis://", f"redis://nobody:{SECRET}@"))
    with pytest.raises(BrokerConnectionError) as caught:
        await broker.startup()
    assert "127.0.0.1:6379" in str(caught.value)
    assert SECRET not in str(caught.value)
    await broker.shutdown()


async def test_result_backend_and_schedule_source_name_the_unreachable_host() -> None:
    from taskiq_redis import RedisAsyncResultBackend, RedisScheduleSource

    port = free_port()
    url = f"redis://:{SECRET}@127.0.0.1:{port}/0"
    for component in (RedisAsyncResultBackend(url), RedisScheduleSource(url)):
        with pytest.raises(BrokerConnectionError) as caught:
            await component.startup()
        assert f"127.0.0.1:{port}" in str(caught.value)
        assert SECRET not in str(caught.value)
        await component.shutdown()


async def test_kick_while_redis_is_down_raises_send_task_error() -> None:
    from taskiq.exceptions import SendTaskError
    from taskiq.message import BrokerMessage

    port = free_port()
    broker = RedisBroker(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(SendTaskError) as caught:
        await broker.kick(BrokerMessage(task_id="x", task_name="t", message=b"{}", labels={}))
    assert f"127.0.0.1:{port}" in str(caught.value)
    await broker.shutdown()


async def test_unknown_connection_option_fails_startup_naming_it() -> None:
    broker = RedisBroker("redis://127.0.0.1:6379/0", no_such_option=1)
    with pytest.raises(BrokerConnectionError) as caught:
        await broker.startup()
    assert "no_such_option" in str(caught.value)
    assert "127.0.0.1:6379" in str(caught.value)
    await broker.shutdown()

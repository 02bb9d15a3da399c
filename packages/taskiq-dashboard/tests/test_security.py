"""Who may see and act: loopback by default, credentials, CSRF, read-only, escaping, headers.

In process, on the in-memory broker (no service needed): the guards do not depend on it.
"""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
from taskiq import InMemoryBroker, TaskProgress, TaskState
from taskiq_dashboard import Credentials, SecurityConfigError, check_bind, dashboard_app

CSRF = "taskiq_dashboard_csrf"


def client_of(broker: InMemoryBroker, **options: object) -> httpx.AsyncClient:
    app = dashboard_app(broker, **options)  # type: ignore[arg-type]
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080")


@pytest.fixture
async def broker() -> AsyncIterator[InMemoryBroker]:
    broker = InMemoryBroker()

    @broker.task(task_name="sec:fail")
    async def fail(text: str) -> None:
        raise ValueError(text)

    await broker.startup()
    yield broker
    await broker.shutdown()


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {token}"}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.5"])
def test_loopback_needs_no_credentials(host: str) -> None:
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.4", "example.org", "::"])
def test_any_other_address_is_refused_without_credentials(host: str) -> None:
    with pytest.raises(SecurityConfigError, match="without authentication"):
        check_bind(host, None)
    check_bind(host, Credentials(password="s3cret"))


@pytest.mark.parametrize("value", ["nopassword", ":pw", "user:", ""])
def test_a_malformed_basic_auth_option_is_refused(value: str) -> None:
    with pytest.raises(SecurityConfigError, match="USER:PASSWORD"):
        Credentials.parse_basic(value)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "taskiq", "dashboard", "taskiq:InMemoryBroker", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_command_refuses_a_public_bind_without_credentials_in_one_line() -> None:
    result = run_cli("--host", "0.0.0.0")
    assert result.returncode == 1
    assert result.stderr.startswith("taskiq dashboard: Refusing to serve the dashboard on 0.0.0.0")
    assert result.stderr.count("\n") == 1


def test_the_command_refuses_token_and_basic_auth_together() -> None:
    result = run_cli("--token", "a", "--basic-auth", "u:p")
    assert result.returncode == 1
    assert "not both" in result.stderr


async def test_credentials_are_required_on_every_request(broker: InMemoryBroker) -> None:
    async with client_of(broker, credentials=Credentials("pw", "admin")) as client:
        refused = await client.get("/")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic")
        assert (await client.get("/static/htmx.min.js")).status_code == 401
        assert (await client.get("/", headers=basic("admin", "wrong"))).status_code == 401
        assert (await client.get("/", headers=basic("other", "pw"))).status_code == 401
        assert (await client.get("/", headers=basic("admin", "pw"))).status_code == 200


async def test_a_token_works_as_basic_password_or_bearer(broker: InMemoryBroker) -> None:
    async with client_of(broker, credentials=Credentials("tok")) as client:
        assert (await client.get("/", headers=basic("anyone", "tok"))).status_code == 200
        assert (await client.get("/", headers={"authorization": "Bearer tok"})).status_code == 200
        assert (await client.get("/", headers={"authorization": "Bearer no"})).status_code == 401


async def test_pages_carry_a_strict_content_security_policy(broker: InMemoryBroker) -> None:
    async with client_of(broker) as client:
        response = await client.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy
    assert "SameSite=strict" in response.headers["set-cookie"]
    assert "HttpOnly" in response.headers["set-cookie"]
    assert "<script>" not in response.text  # only <script src=...> of our own files


async def test_a_post_without_the_session_token_is_refused(broker: InMemoryBroker) -> None:
    async with client_of(broker) as client:
        page = await client.get("/")
        token = client.cookies[CSRF]
        no_field = await client.post("/actions/purge", data={"queue": "q"})
        wrong = await client.post("/actions/purge", data={"queue": "q", "csrf": "x" * 43})
        other_site = await client.post(
            "/actions/purge",
            data={"queue": "q", "csrf": token},
            headers={"origin": "http://evil.example"},
        )
    assert page.status_code == 200
    assert [no_field.status_code, wrong.status_code, other_site.status_code] == [403] * 3
    assert "CSRF" in no_field.text


async def test_a_valid_post_runs_and_a_failure_comes_back_as_a_notice(
    broker: InMemoryBroker,
) -> None:
    async with client_of(broker) as client:
        await client.get("/")
        token = client.cookies[CSRF]
        response = await client.post("/actions/purge", data={"queue": "q", "csrf": token})
        assert response.status_code == 303
        assert "notice=Failed" in response.headers["location"]
        page = await client.get(response.headers["location"])
    assert "queue inspection" in page.text


async def test_read_only_shows_no_action_and_refuses_every_post(broker: InMemoryBroker) -> None:
    async with client_of(broker, read_only=True) as client:
        page = await client.get("/")
        token = client.cookies[CSRF]
        for action in ["purge", "replay", "delete", "cancel"]:
            response = await client.post(f"/actions/{action}", data={"csrf": token})
            assert response.status_code == 403
    assert "read-only" in page.text
    assert '<form method="post"' not in page.text


async def test_task_data_is_shown_escaped(broker: InMemoryBroker) -> None:
    task = await broker.find_task("sec:fail").kiq("<img src=x onerror=alert(1)>")  # type: ignore[union-attr]
    await task.wait_result(timeout=5)
    async with client_of(broker) as client:
        page = await client.get(f"/tasks/{task.task_id}")
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text
    assert not re.search(r"<img", page.text)


async def test_an_unknown_task_is_a_404_saying_why(broker: InMemoryBroker) -> None:
    async with client_of(broker) as client:
        page = await client.get("/tasks/nope")
        lookup = await client.get("/tasks", params={"id": "a/b c"})
    assert page.status_code == 404
    assert "never sent" in page.text
    assert lookup.headers["location"] == "/tasks/a%2Fb%20c"


async def test_a_broker_without_dead_letters_says_so(broker: InMemoryBroker) -> None:
    async with client_of(broker) as client:
        page = await client.get("/dead-letters")
    assert page.status_code == 400
    assert "Dead letters are not supported by InMemoryBroker" in page.text


def test_the_command_refuses_a_non_positive_interval() -> None:
    result = run_cli("--interval", "0")
    assert result.returncode == 1
    assert "--interval must be a positive number" in result.stderr


def test_an_app_that_cannot_be_loaded_is_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskiq", "dashboard", "no_such_module_xyz:broker"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("taskiq dashboard: ")
    assert result.stderr.count("\n") == 1


async def test_a_task_page_shows_result_labels_and_progress_as_text(
    broker: InMemoryBroker,
) -> None:
    @broker.task(task_name="sec:echo")
    async def echo(value: str) -> dict[str, str]:
        return {"echo": value}

    task = await echo.kicker().with_labels(owner="<i>ops</i>").kiq("<u>x</u>")
    await task.wait_result(timeout=5)
    progress = TaskProgress(state=TaskState.STARTED, meta={"done": "<s>3</s>"})
    await broker.result_backend.set_progress(task.task_id, progress)
    async with client_of(broker) as client:
        page = await client.get(f"/tasks/{task.task_id}")
    assert page.status_code == 200
    assert "&#34;echo&#34;: &#34;&lt;u&gt;x&lt;/u&gt;&#34;" in page.text
    assert "<th>owner</th>" in page.text
    assert "&lt;i&gt;ops&lt;/i&gt;" in page.text
    assert "&lt;s&gt;3&lt;/s&gt;" in page.text
    assert not re.search(r"<(u|i|s)>", page.text)


@pytest.mark.parametrize("back", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
async def test_a_failed_action_never_redirects_to_another_site(
    broker: InMemoryBroker, back: str
) -> None:
    async with client_of(broker) as client:
        await client.get("/")
        form = {"csrf": client.cookies[CSRF], "queue": "q", "back": back}
        response = await client.post("/actions/purge", data=form)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/?notice=Failed")

"""`Guard`: the ASGI middleware that asks for credentials and adds the security headers."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskiq_dashboard.security import CONTENT_SECURITY_POLICY, Credentials

_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class Guard:
    """Every HTTP request: 401 without the credentials (if any), security headers always."""

    def __init__(self, app: ASGIApp, credentials: Credentials | None) -> None:
        self.app = app
        self.credentials = credentials

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse or pass on, adding the headers to whatever the app answers."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.credentials is not None and not self._allowed(scope):
            await _unauthorized(send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _allowed(self, scope: Scope) -> bool:
        assert self.credentials is not None
        for name, value in scope["headers"]:
            if name == b"authorization":
                return self.credentials.allows(value.decode("latin-1"))
        return False


async def _unauthorized(send: Send) -> None:
    body = b"Authentication required.\n"
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"www-authenticate", b'Basic realm="taskiq dashboard", charset="UTF-8"'),
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        },
    )
    await send({"type": "http.response.body", "body": body})

"""Who may see the dashboard and who may act through it.

Three guards, each small:

- `Credentials`: an optional shared secret, checked on every request (HTTP Basic,
  so a browser asks for it, or ``Authorization: Bearer``). `check_bind` refuses
  to serve anything but loopback without one: a dashboard can purge queues.
- CSRF: a random token per browser session in a ``SameSite=Strict``, HttpOnly
  cookie, repeated in a hidden field of every form; a POST whose field does not
  match the cookie (or whose ``Origin`` is another site) is refused.
- `security_headers`: a Content-Security-Policy that runs only the dashboard's own
  scripts (no inline script, no eval), so task data shown in a page cannot execute.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request

CSRF_COOKIE = "taskiq_dashboard_csrf"
CSRF_FIELD = "csrf"

#: Only the dashboard's own files; nothing inline, nothing evaluated, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityConfigError(ValueError):
    """The dashboard was asked to run in a way that would expose it."""


@dataclass(frozen=True)
class Credentials:
    """The secret a request must carry: ``password`` (with ``username`` if given).

    A token is the password of a Basic login with any user name, or a Bearer token.
    """

    password: str
    username: str | None = None

    @classmethod
    def parse_basic(cls, value: str) -> Credentials:
        """``user:password`` from the command line; a clear error when it is not that."""
        username, sep, password = value.partition(":")
        if not sep or not username or not password:
            raise SecurityConfigError("--basic-auth must be USER:PASSWORD, both non-empty.")
        return cls(password=password, username=username)

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries these credentials."""
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and self.username is None:
            return _same(value.strip(), self.password)
        if scheme.lower() != "basic":
            return False
        user, password = _basic(value.strip())
        user_ok = self.username is None or _same(user, self.username)
        return _same(password, self.password) and user_ok


def _basic(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, credentials: Credentials | None) -> None:
    """Refuse a non-loopback ``host`` without credentials (the one-line error says how)."""
    if credentials is None and not is_loopback(host):
        raise SecurityConfigError(
            f"Refusing to serve the dashboard on {host} without authentication: anyone who "
            "reaches it could purge queues. Pass --token TOKEN (or TASKIQ_DASHBOARD_TOKEN) "
            "or --basic-auth USER:PASSWORD, or bind 127.0.0.1.",
        )


def csrf_token(request: Request) -> str:
    """The session's token: the cookie's, or a new one the response will set."""
    token = request.cookies.get(CSRF_COOKIE)
    if token and len(token) >= 32:
        return token
    fresh: str = request.scope.setdefault("taskiq_dashboard_new_csrf", secrets.token_urlsafe(32))
    return fresh


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """A POST is ours: the form repeats the cookie's token and no other site sent it."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not _same(submitted, cookie):
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == request.headers.get("host")

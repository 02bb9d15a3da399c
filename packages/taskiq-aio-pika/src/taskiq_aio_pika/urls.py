"""Printable forms of AMQP URLs: never show a password in a log or an error."""

from __future__ import annotations

from yarl import URL

DEFAULT_URL = "amqp://guest:guest@localhost:5672/"


def mask_url(url: str | URL) -> str:
    """Return ``url`` with its password replaced by ``***`` (host and user stay visible)."""
    parsed = URL(str(url))
    if parsed.password is None:
        return str(parsed)
    return str(parsed.with_password("***"))


def scrub(text: str, url: str | URL) -> str:
    """Remove ``url``'s password from ``text`` wherever a driver may have echoed it."""
    password = URL(str(url)).password
    if not password:
        return text
    return text.replace(str(url), mask_url(url)).replace(password, "***")

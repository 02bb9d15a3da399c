"""Show a connection URL without its password, for logs and banners."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

MASK = "***"


def mask_url(url: str) -> str:
    """``url`` with the password replaced by ``***``; user, host and path stay visible.

    ``redis://:secret@127.0.0.1:6379/0`` becomes ``redis://:***@127.0.0.1:6379/0``.
    Several URLs separated by commas (NATS server lists) are masked one by one;
    text that is not a URL comes back unchanged.
    """
    if "," in url:
        return ",".join(mask_url(part) for part in url.split(","))
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))

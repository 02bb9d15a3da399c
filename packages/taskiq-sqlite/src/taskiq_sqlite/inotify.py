"""A wake-up from the kernel when another process writes the file (Linux inotify).

In WAL mode every commit writes the ``-wal`` file, so watching the file's folder
for writes to ``<file>`` and ``<file>-wal`` tells a waiting worker or client of a
commit at once, at no cost while nothing happens: no thread, no timer. Reached
through ``ctypes`` (the stdlib has no binding); where it is missing (macOS, an
old kernel, a folder that cannot be watched) `watch` returns None and
`taskiq_sqlite.changes` polls ``PRAGMA data_version`` instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import struct
import sys

logger = logging.getLogger("taskiq_sqlite.changes")

_IN_MODIFY = 0x00000002
_IN_CLOSE_WRITE = 0x00000008
_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_MASK = _IN_MODIFY | _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE
_HEADER = struct.Struct("iIII")


class FolderWatch:
    """An inotify descriptor on one folder, reporting writes to a few file names."""

    def __init__(self, fd: int, names: frozenset[bytes]) -> None:
        self.fd = fd
        self.names = names

    def drain(self) -> bool:
        """Read every pending event; True if one was about our files."""
        hit = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return hit
            except OSError:
                return True
            if not data:
                return hit
            hit = hit or self._mentions(data)

    def _mentions(self, data: bytes) -> bool:
        offset = 0
        while offset + _HEADER.size <= len(data):
            _, _, _, length = _HEADER.unpack_from(data, offset)
            name = data[offset + _HEADER.size : offset + _HEADER.size + length].rstrip(b"\0")
            if name in self.names:
                return True
            offset += _HEADER.size + length
        return False

    def close(self) -> None:
        """Stop watching."""
        with contextlib.suppress(OSError):
            os.close(self.fd)


def watch(path: str) -> FolderWatch | None:
    """A watch on ``path``'s folder for writes to it and its WAL; None where not possible."""
    if not sys.platform.startswith("linux") or os.environ.get("TASKIQ_SQLITE_NO_INOTIFY"):
        return None
    libc = _libc()
    if libc is None:
        return None
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        logger.info("inotify is not available (errno %d); polling instead.", ctypes.get_errno())
        return None
    folder = os.path.dirname(os.path.abspath(path)) or "."
    if libc.inotify_add_watch(fd, os.fsencode(folder), _MASK) < 0:
        logger.info("Cannot watch %s (errno %d); polling instead.", folder, ctypes.get_errno())
        os.close(fd)
        return None
    base = os.fsencode(os.path.basename(path))
    return FolderWatch(fd, frozenset({base, base + b"-wal"}))


_loaded: list[ctypes.CDLL | None] = []


def _libc() -> ctypes.CDLL | None:
    if not _loaded:
        try:
            found = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            _ = found.inotify_init1, found.inotify_add_watch
        except (OSError, AttributeError):
            found = None
        _loaded.append(found)
    return _loaded[0]

"""A loopback TCP proxy that a scenario can partition: the worker's only way to its server.

During a partition every proxied connection is cut and new ones are accepted
and cut at once, while the proxy keeps its port, so the client sees a dropped
network (connection resets, refused handshakes) and reconnects to the same
address afterwards. It runs on its own thread with its own event loop, so a
scenario can drive it from blocking code as well as from a test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from typing import Any


class PartitionProxy:
    """Forwards ``127.0.0.1:<port>`` to ``127.0.0.1:<target_port>`` until partitioned."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._partitioned = False

    def start(self) -> None:
        """Start forwarding on a free port (``self.port``)."""
        self._thread.start()
        self._call(self._listen())

    def close(self) -> None:
        """Stop the proxy and its thread."""
        if self._thread.is_alive():
            self._call(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def partition(self, seconds: float) -> None:
        """Cut every connection and refuse new ones for ``seconds`` (blocks meanwhile)."""
        self.cut()
        time.sleep(seconds)
        self.heal()

    def cut(self) -> None:
        """Begin a partition: drop what is connected, refuse what connects."""
        self._loop.call_soon_threadsafe(self._begin_partition)

    def heal(self) -> None:
        """End the partition: new connections are forwarded again."""
        self._loop.call_soon_threadsafe(setattr, self, "_partitioned", False)

    def url(self, scheme: str, suffix: str = "", userinfo: str = "") -> str:
        """The address to give the worker, e.g. ``url("redis", "/0")``."""
        return f"{scheme}://{userinfo}127.0.0.1:{self.port}{suffix}"

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=20)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._abort_all()

    def _begin_partition(self) -> None:
        self._partitioned = True
        self._abort_all()

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._partitioned:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            _pipe(reader, up_writer, self._writers),
            _pipe(up_reader, writer, self._writers),
            return_exceptions=True,
        )


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    writers: set[asyncio.StreamWriter],
) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writers.discard(writer)
        with contextlib.suppress(Exception):
            writer.transport.abort()

"""ZeroMQ PUB/SUB between one client process and ONE worker process on a host.

What it promises, and what it does not:

- **Broadcast.** The client binds a publishing socket; every connected worker
  process receives every task. Run exactly one worker process
  (``taskiq worker app:broker --workers 1``) or each task runs once per worker.
- **At most once.** No acknowledgements, no persistence: a task published
  while no worker is subscribed is dropped ("slow joiner"), and so are tasks a
  worker had not finished when it stopped. `ZeroMQBroker.wait_for_subscriber`
  lets a client wait until a worker has subscribed before sending.
- **No kiq from a worker.** A worker only subscribes; a task that sends
  another task (or a retry middleware running in the worker) gets a clear
  `SendTaskError`.

For anything that must not be lost, use a broker with acknowledgements (Redis
streams, RabbitMQ, NATS JetStream).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from taskiq.abc.broker import AsyncBroker
from taskiq.abc.result_backend import AsyncResultBackend
from taskiq.acks import AckableMessage
from taskiq.exceptions import BrokerConnectionError, ListenError, SendTaskError
from taskiq.message import BrokerMessage

logger = logging.getLogger("taskiq.brokers.zmq")

#: First byte of the subscription frames an XPUB socket receives.
_SUBSCRIBE = 1


def _import_zmq() -> Any:
    try:
        import zmq
        import zmq.asyncio
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("ZeroMQBroker needs pyzmq: pip install 'taskiq[zmq]'.") from exc
    return zmq


class ZeroMQBroker(AsyncBroker):
    """Send tasks from a client to one worker over ZeroMQ (see the module docstring).

    ``zmq_pub_host`` is the address the client binds, ``zmq_sub_host`` the one
    the worker connects to; on one host the defaults match (port 5555).
    Sockets are opened by ``startup()`` and closed by ``shutdown()``.
    """

    def __init__(
        self,
        zmq_pub_host: str = "tcp://0.0.0.0:5555",
        zmq_sub_host: str = "tcp://localhost:5555",
        result_backend: AsyncResultBackend[Any] | None = None,
        task_id_generator: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(result_backend, task_id_generator)
        self.zmq_pub_host = zmq_pub_host
        self.zmq_sub_host = zmq_sub_host
        self._zmq = _import_zmq()
        self._context: Any = None
        self._pub: Any = None
        self._sub: Any = None
        self._subscribed = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    async def startup(self) -> None:
        """Open the publishing socket (client) or the subscription (worker)."""
        self._context = self._zmq.asyncio.Context()
        try:
            if self.is_worker_process:
                self._open_subscriber()
            else:
                self._open_publisher()
        except BrokerConnectionError:
            self._context.term()
            self._context = None
            raise
        await super().startup()

    def _open_publisher(self) -> None:
        zmq = self._zmq
        # XPUB is PUB that also reports subscriptions: that is how
        # wait_for_subscriber learns that a worker is listening.
        socket = self._context.socket(zmq.XPUB)
        socket.setsockopt(zmq.LINGER, 0)
        try:
            socket.bind(self.zmq_pub_host)
        except zmq.ZMQError as exc:
            socket.close()
            raise BrokerConnectionError(
                service="ZeroMQ",
                address=self.zmq_pub_host,
                reason=f"cannot bind ({exc}); is another client already bound to it?",
            ) from exc
        self._pub = socket
        self._subscribed = asyncio.Event()
        self._watcher = asyncio.create_task(self._watch_subscriptions(socket))

    def _open_subscriber(self) -> None:
        zmq = self._zmq
        socket = self._context.socket(zmq.SUB)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            socket.connect(self.zmq_sub_host)
        except zmq.ZMQError as exc:
            socket.close()
            raise BrokerConnectionError(
                service="ZeroMQ",
                address=self.zmq_sub_host,
                reason=f"invalid address ({exc})",
            ) from exc
        self._sub = socket

    async def _watch_subscriptions(self, socket: Any) -> None:
        try:
            while True:
                frame = await socket.recv()
                # XPUB forwards the first subscription and the last unsubscription
                # (a worker that went away): so this tracks "is anyone listening".
                if frame[:1] == bytes([_SUBSCRIBE]):
                    self._subscribed.set()
                else:
                    self._subscribed.clear()
        except (asyncio.CancelledError, self._zmq.ZMQError):
            return

    @property
    def has_subscriber(self) -> bool:
        """Whether a worker is subscribed now (always False in a worker or before startup)."""
        return self._pub is not None and self._subscribed.is_set()

    async def wait_for_subscriber(self, timeout: float | None = None) -> None:
        """Return once a worker is subscribed.

        Tasks sent before any worker subscribed are dropped by ZeroMQ; call
        this after ``startup()`` when the first tasks matter. Raises
        `TimeoutError` after ``timeout`` seconds.
        """
        if self._pub is None:
            raise SendTaskError(
                "wait_for_subscriber() needs a started client broker: call "
                "`await broker.startup()` first (in a process that is not a worker).",
                reason="not started",
            )
        await asyncio.wait_for(self._subscribed.wait(), timeout)

    async def kick(self, message: BrokerMessage) -> None:
        """Publish the message; it reaches the workers subscribed right now."""
        if self._pub is None:
            raise SendTaskError(self._cannot_send_reason(), reason="no publishing socket")
        try:
            await self._pub.send(message.message)
        except self._zmq.ZMQError as exc:
            raise SendTaskError(
                f"ZeroMQ refused task {message.task_name!r}: {exc}. Restart the client broker.",
                reason=str(exc),
            ) from exc

    def _cannot_send_reason(self) -> str:
        if self.is_worker_process:
            return (
                "A ZeroMQBroker worker only receives tasks: it cannot send one (from a task "
                "or a retry middleware). Use a broker with a queue (Redis, RabbitMQ, NATS) "
                "if tasks send tasks."
            )
        return "ZeroMQBroker is not started: call `await broker.startup()` before kiq()."

    async def listen(self) -> AsyncGenerator[bytes | AckableMessage, None]:
        """Yield every published task until the broker shuts down."""
        if self._sub is None:
            raise ListenError(
                "ZeroMQBroker is not listening: set broker.is_worker_process = True and "
                "call `await broker.startup()` first (taskiq worker does both).",
                reason="no subscription",
            )
        socket = self._sub
        while True:
            try:
                yield await socket.recv()
            except (asyncio.CancelledError, self._zmq.ZMQError):
                # Closing the socket in shutdown() cancels the pending receive:
                # that is the end of the stream, not a cancellation of the caller.
                if socket.closed and not _cancelling():
                    return
                raise

    async def shutdown(self) -> None:
        """Run the shutdown events, then close the sockets."""
        await super().shutdown()
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        for socket in (self._pub, self._sub):
            if socket is not None:
                socket.close(linger=0)
        self._pub = self._sub = None
        if self._context is not None:
            self._context.term()
            self._context = None


def _cancelling() -> bool:
    """Tell whether the current task itself is being cancelled (Python 3.11+)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return bool(cancelling()) if cancelling is not None else False

"""Serving a fake over real HTTP (and WebSocket) on localhost, from a background thread.

uvicorn serves WebSockets only when a WebSocket library is installed; FakeSlack's
Socket Mode needs ``websockets`` (or ``wsproto``) in the dev extras.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Self, TypeVar

import uvicorn

T = TypeVar("T")


class BackgroundServer:
    """Serves an ASGI app with uvicorn on 127.0.0.1:<free port> in a thread with its own loop."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        sock = bound_socket()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        failed = TimeoutError(f"uvicorn did not start within {timeout}s")
        poll(lambda: self._server is not None and self._server.started, timeout, lambda: failed)

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None


class Served:
    """A fake that a BackgroundServer serves: ``with Fake() as fake:`` starts and stops it."""

    _server: BackgroundServer

    def __enter__(self) -> Self:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.stop()


def bound_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1, not yet listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def poll(predicate: Callable[[], T | None], timeout: float, failure: Callable[[], Exception]) -> T:
    """Call predicate until it returns something truthy and return that, or raise failure()."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise failure()
        time.sleep(0.01)
    return value

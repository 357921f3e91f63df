"""RedisServer: a private redis-server process for tests, never the system one on 6379.

It runs with ``--save "" --appendonly yes`` in its own directory, so data written before
``restart()`` is read back from the append-only file, as in production with AOF.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

SYSTEM_REDIS_PORT = 6379


class RedisServer:
    """``with RedisServer() as server: redis.Redis.from_url(server.url)``."""

    def __init__(self, binary: str = "redis-server", directory: str | Path | None = None) -> None:
        self.binary = shutil.which(binary) or binary
        self._owns_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="shipbot-redis-"))
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.directory / "redis.log"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start redis-server and return once it answers PING."""
        if self._process is not None:
            return self
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(self._command(), stdout=log, stderr=log)
        self._wait_until_ready(timeout)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (redis flushes the AOF on it) and wait for the process to exit."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> RedisServer:
        """Stop and start again on the same port and directory."""
        self.stop()
        return self.start()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Inside the block redis-server is stopped (SIGSTOP), as a hung host: its connections
        stay open and nothing is answered. It goes on (SIGCONT) after the block."""
        assert self._process is not None, "start it first"
        self._process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self._process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        """Stop, and delete the data directory if this server created it."""
        self.stop()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _command(self) -> list[str]:
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes",
            "--dir", str(self.directory),
            "--daemonize", "no",
        ]  # fmt: skip

    def client(self) -> redis.Redis:
        """A client of this server alone, failing within a second."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)

    def _wait_until_ready(self, timeout: float) -> None:
        client = self.client()
        deadline = time.monotonic() + timeout
        try:
            while not _pings(client):
                self._check_alive()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"redis-server not ready in {timeout}s; see {self.log_path}")
                time.sleep(0.02)
        finally:
            client.close()

    def _check_alive(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            log = self.log_path.read_text(errors="replace")[-2000:]
            self._process = None
            raise RuntimeError(f"redis-server exited during start:\n{log}")


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
        return False


def _free_port() -> int:
    """A port the OS says is free right now, never the system Redis port."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != SYSTEM_REDIS_PORT:
            return port

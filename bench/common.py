"""What the benchmarks share: FakeSlack in a child process, shipbot's processes (an HTTP server,
`shipbot worker`), their CPU and memory from /proc, and raw HTTP/1.1 over asyncio streams.

FakeSlack runs in its own process so that its server thread never competes with the load
generator for the GIL. The load generators speak raw HTTP/1.1, one keep-alive connection per
client: httpx.AsyncClient saturated a CPU here at ~300-800 req/s (its pool slows down as
connections grow), so it measured itself rather than the servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes import (  # noqa: E402 - needs the repo root on sys.path
    DEFAULT_BOT_TOKEN,
    DEFAULT_SIGNING_SECRET,
    FakeSlack,
    RedisServer,
    SignedRequest,
)
from tests.stack import free_port  # noqa: E402

REQUEST_TIMEOUT = 10.0


# FakeSlack in its own process --------------------------------------------------------------
class SlackProcess:
    """FakeSlack served from a child process; ``posted()`` counts its chat.postMessage calls."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, self._child_conn = context.Pipe()
        self._process = context.Process(target=_serve_fake_slack, args=(self._child_conn,))
        self.base_url = ""

    def __enter__(self) -> SlackProcess:
        self._process.start()
        self._child_conn.close()
        try:
            self.base_url = self._conn.recv()
        except EOFError:
            raise RuntimeError("FakeSlack did not start; its traceback is above") from None
        return self

    def posted(self) -> int:
        self._conn.send("count")
        return int(self._conn.recv())

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(OSError):
            self._conn.send("stop")
        self._process.join(timeout=10)


def _serve_fake_slack(conn: Connection) -> None:
    with FakeSlack() as slack:
        conn.send(slack.base_url)
        while conn.recv() == "count":
            conn.send(len(slack.calls("chat.postMessage")))


def shipbot_env(redis: RedisServer, slack: SlackProcess, catalog: Path) -> dict[str, str]:
    """The environment `shipbot serve` and `shipbot worker` need, pointed at the fakes."""
    return {
        "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": DEFAULT_SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "REDIS_URL": redis.url,
        "SHIPBOT_CATALOG": str(catalog),
    }


# shipbot's processes -------------------------------------------------------------------
@dataclass
class Server:
    """A uvicorn-served app in its own process, answering GET /healthz when ready."""

    name: str
    args: list[str]
    env: dict[str, str]
    logdir: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        command = [sys.executable, *self.args, "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", str(self.workers)]
        with self.log.open("ab") as log:
            env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_healthy()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            stop(self.process)

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its worker processes (Linux /proc; else NaN)."""
        assert self.process is not None
        try:
            return sum(_cpu(pid) for pid in [self.process.pid, *_children(self.process.pid)])
        except OSError:
            return math.nan

    @property
    def log(self) -> Path:
        return self.logdir / f"{self.name}.log"

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1, trust_env=False).is_success:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become healthy:\n{self.log.read_text()}")


@contextlib.contextmanager
def shipbot_worker(
    env: dict[str, str], logdir: Path, name: str = "worker"
) -> Iterator[subprocess.Popen[bytes]]:
    """One `shipbot worker` process, logging to ``<logdir>/<name>.log``."""
    with (logdir / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.app.cli", "worker"],
            cwd=ROOT, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak resident) of a process, in KiB (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _cpu(pid: int) -> float:
    utime, stime = _stat(pid)[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError):
            if entry.name.isdigit() and int(_stat(int(entry.name))[1]) == pid:
                found.append(int(entry.name))
    return found


# raw HTTP/1.1 --------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def raw_post(port: int, request: SignedRequest) -> bytes:
    """The bytes of POST /slack/events carrying a signed request, as Slack would send it."""
    headers = {
        "Host": f"127.0.0.1:{port}",
        **request.headers,
        "Content-Length": str(len(request.body)),
    }
    head = ["POST /slack/events HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return "\r\n".join(head).encode() + b"\r\n\r\n" + request.body


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> Reply:
    """Send one request on a keep-alive connection and read its reply."""
    async with asyncio.timeout(REQUEST_TIMEOUT):
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").lower().split("\r\n")
        fields = dict(line.split(": ", 1) for line in lines if line)
        body = await reader.readexactly(int(fields["content-length"]))
    return Reply(int(status_line.split(" ")[1]), body)


def close(stream: Stream | None) -> None:
    if stream is not None:
        stream[1].close()


HTTP_ERRORS = (OSError, EOFError, ValueError, asyncio.LimitOverrunError)


def percentile(values: list[float], p: int) -> float:
    """The p-th percentile (1-99) of values; NaN when there are fewer than two."""
    if len(values) < 2:
        return math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]

"""A Redis that fails over, for tests: a master, one replica and three sentinels, each a real
`redis-server` process on a free port (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/).

``with SentinelCluster(tmp_path) as cluster:`` returns once the sentinels know the master, its
replica and each other; ``cluster.failover()`` and ``cluster.kill_master()`` return once every
sentinel names the new master and it answers as one. ``SentinelCluster(tmp_path, password=...,
sentinel_password=...)`` guards the nodes (and their replication) and the sentinels with
passwords of their own; the helpers here authenticate themselves.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import redis
from redis.sentinel import Sentinel

from tests.fakes.redis_server import RedisServer, _free_port

MASTER = "mymaster"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
SENTINELS = 3
QUORUM = 2

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """Poll ``condition`` every 50 ms until it gives something true, and return that; after
    ``timeout`` seconds fail, saying ``what`` never happened. Redis errors count as "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if found := condition():
                return found
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"never happened within {timeout}s: {what}")


class Node(RedisServer):
    """A redis-server (AOF on, as RedisServer runs it), optionally a replica of ``primary``;
    with a ``password``, clients need it and replicas give it to their master."""

    def __init__(self, directory: Path, primary: Node | None = None, password: str = "") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(directory=directory)
        self.primary, self.password = primary, password

    def client(self) -> redis.Redis:
        """A client of this node alone (strings in and out), with its password: RedisServer
        waits for the node to answer through it."""
        return _client(self.port, self.password)

    def _command(self) -> list[str]:
        following = ["--replicaof", "127.0.0.1", str(self.primary.port)] if self.primary else []
        guarded = ["--requirepass", self.password, "--masterauth", self.password]
        return [*super()._command(), *following, *(guarded if self.password else [])]

    def kill(self) -> None:
        """SIGKILL: no AOF flush, no goodbye to replicas or clients."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def role(self) -> str:
        """``master`` or ``slave``, as the server says (a ConnectionError when it is down)."""
        with self.client() as client:
            return str(client.info("replication")["role"])

    def linked(self) -> bool:
        """A replica whose link to its master is up."""
        with self.client() as client:
            return client.info("replication").get("master_link_status") == "up"


class SentinelProcess:
    """`redis-server sentinel.conf --sentinel`, watching ``MASTER`` at ``master_port``; it gives
    ``master_password`` to the nodes, and asks clients (and the other sentinels) for
    ``password``."""

    def __init__(
        self, directory: Path, master_port: int, master_password: str = "", password: str = ""
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory, self.port, self.password = directory, _free_port(), password
        self.config = directory / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {directory}\n"
            "sentinel resolve-hostnames no\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {master_port} {QUORUM}\n"
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
            + (f"sentinel auth-pass {MASTER} {master_password}\n" if master_password else "")
            + (f"requirepass {password}\n" if password else "")
        )
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> SentinelProcess:
        binary = shutil.which("redis-server") or "redis-server"
        with (self.directory / "sentinel.log").open("ab") as log:
            command = [binary, str(self.config), "--sentinel"]
            self._process = subprocess.Popen(command, stdout=log, stderr=log)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def ask(self, *command: str) -> Any:
        with _client(self.port, self.password) as client:
            return client.execute_command(*command)

    def master(self) -> dict[str, str]:
        """What this sentinel knows of MASTER (SENTINEL MASTER's fields)."""
        fields = self.ask("SENTINEL", "MASTER", MASTER)
        if isinstance(fields, dict):
            return {str(k): str(v) for k, v in fields.items()}
        return dict(zip(fields[::2], fields[1::2], strict=True))

    def master_port(self) -> int:
        return int(self.ask("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)[1])


class SentinelCluster:
    """A master, a replica and three sentinels (quorum 2), in ``directory``; the nodes ask for
    ``password`` and the sentinels for ``sentinel_password``, when they are given."""

    def __init__(self, directory: Path, password: str = "", sentinel_password: str = "") -> None:
        self.directory = directory
        self.password, self.sentinel_password = password, sentinel_password
        self.nodes: list[Node] = []
        self.sentinels: list[SentinelProcess] = []

    # life ----------------------------------------------------------------------------
    def start(self) -> SentinelCluster:
        master = Node(self.directory / "node-0", password=self.password).start()
        replica = Node(self.directory / "node-1", primary=master, password=self.password)
        self.nodes = [master, replica.start()]
        self.sentinels = [
            SentinelProcess(
                self.directory / f"sentinel-{i}", master.port, self.password, self.sentinel_password
            ).start()
            for i in range(SENTINELS)
        ]
        wait_for(self.nodes[1].linked, "the replica linked to the master")
        wait_for(self._all_acquainted, "every sentinel knows the replica and the others")
        return self

    def close(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for node in self.nodes:
            node.close()

    def __enter__(self) -> SentinelCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # what shipbot is told ------------------------------------------------------------
    @property
    def addresses(self) -> str:
        """REDIS_SENTINELS."""
        return ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def env(self) -> dict[str, str]:
        """The settings that find the master, its passwords among them when it has some."""
        found = {"REDIS_SENTINELS": self.addresses, "REDIS_SENTINEL_MASTER": MASTER}
        passwords = {
            "REDIS_PASSWORD": self.password,
            "REDIS_SENTINEL_PASSWORD": self.sentinel_password,
        }
        return {**found, **{name: value for name, value in passwords.items() if value}}

    # the master ----------------------------------------------------------------------
    def master(self) -> Node:
        """The node the sentinels name as master now."""
        port = self.sentinels[0].master_port()
        return next(node for node in self.nodes if node.port == port)

    def client(self) -> redis.Redis:
        """A client of whichever node is master when it connects (strings in and out)."""
        addresses = [("127.0.0.1", s.port) for s in self.sentinels]
        own = {"password": self.sentinel_password} if self.sentinel_password else {}
        watchers = Sentinel(addresses, sentinel_kwargs={"socket_timeout": 1, **own})
        password = self.password or None
        return watchers.master_for(
            MASTER, password=password, socket_timeout=2, decode_responses=True
        )

    def failover(self, timeout: float = 30.0) -> Node:
        """SENTINEL FAILOVER; returns the new master once every sentinel names it, it answers
        as master, and the old one has become its replica."""
        old = self.master()
        self.sentinels[0].ask("SENTINEL", "FAILOVER", MASTER)
        new = self.wait_new_master(old, timeout)
        wait_for(lambda: old.role() == "slave", "the old master became a replica", timeout)
        return new

    def kill_master(self) -> Node:
        """SIGKILL the master (once its replica has all it wrote); returns the dead node. Wait
        for its successor with ``wait_new_master``."""
        old = self.master()
        self.wait_replicated()
        old.kill()
        return old

    def wait_new_master(self, old: Node, timeout: float = 30.0) -> Node:
        """The new master, once every running sentinel names the same node other than ``old``
        and it answers as master (after a kill: down-after-milliseconds, then an election)."""

        def agreed() -> Node | None:
            ports = {s.master_port() for s in self.sentinels if s.running}
            if len(ports) != 1 or old.port in ports:
                return None
            node = next(node for node in self.nodes if node.port in ports)
            return node if node.role() == "master" else None

        return wait_for(agreed, "every sentinel names a new master that answers as one", timeout)

    def wait_replicated(self, timeout: float = 10.0) -> None:
        """Until every running replica has all the master wrote (replication is asynchronous:
        a kill loses what the replica has not received yet)."""
        master = self.master()

        def caught_up() -> bool:
            with master.client() as client:
                info = client.info("replication")
            offsets = [v["offset"] for k, v in info.items() if k.startswith("slave")]
            return bool(offsets) and all(o == info["master_repl_offset"] for o in offsets)

        wait_for(caught_up, "the replicas caught up with the master", timeout)

    def _all_acquainted(self) -> bool:
        for sentinel in self.sentinels:
            known = sentinel.master()
            if int(known["num-other-sentinels"]) != SENTINELS - 1:
                return False
            if int(known["num-slaves"]) != len(self.nodes) - 1:
                return False
        return True


def _client(port: int, password: str) -> redis.Redis:
    """A client of one node or sentinel on 127.0.0.1 (strings in and out), with its password."""
    return redis.Redis(
        port=port, password=password or None, socket_timeout=1, decode_responses=True
    )

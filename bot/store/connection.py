"""Where shipbot's Redis is, and the one place that builds clients for it: the store's client,
the job queue's settings and pool (https://redis.readthedocs.io/en/stable/connections.html,
https://arq-docs.helpmanual.io/#arq.connections.RedisSettings).

Redis is either at REDIS_URL, or found through Redis Sentinel (REDIS_SENTINELS and
REDIS_SENTINEL_MASTER): each new connection asks the sentinels where the master is, so the
clients follow it when it fails over. Long-lived processes also run :meth:`RedisTarget.watch`,
which closes their connections to the old master as soon as the sentinels announce the switch
(bot/store/sentinel_watch.py); a command caught by it raises a ConnectionError, which the
store turns into StoreUnavailable like any other moment when Redis can't serve.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from arq.connections import ArqRedis, RedisSettings
from pydantic import SecretStr
from redis import asyncio as aioredis
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from bot.catalog.settings import Settings, SettingsError
from bot.store.packing import PackedConnection
from bot.store.sentinel_watch import FencedConnection, SwitchingPool, follow_switches

CONNECT_TIMEOUT = 0.5  # seconds: a Redis that does not answer is down, say so at once
COMMAND_TIMEOUT = 2.0
HEALTH_CHECK_SECONDS = 15  # a connection idle this long is checked before it is used again

R = TypeVar("R", bound=aioredis.Redis)


def _fail_fast() -> dict[str, Any]:
    """The options every shipbot client shares: fail fast when Redis is down, reconnect by
    itself when it is back (one retry of the connect, 50 ms apart)."""
    return {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": COMMAND_TIMEOUT,
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), 1),
        "health_check_interval": HEALTH_CHECK_SECONDS,
    }


def _url_options() -> dict[str, Any]:
    """A URL's client: hiredis packs its commands (a rediss:// or unix:// URL keeps redis-py's
    own connection class for it, which wins over this one)."""
    return {"connection_class": PackedConnection, **_fail_fast()}


@dataclass(frozen=True)
class RedisTarget:
    """Redis at ``url``, or the master ``master`` as ``sentinels`` know it."""

    url: str = field(default="", repr=False)  # it may hold a password: repr() is str()
    sentinels: Sequence[tuple[str, int]] = ()
    master: str = ""
    password: SecretStr = field(default_factory=lambda: SecretStr(""))
    sentinel_password: SecretStr = field(default_factory=lambda: SecretStr(""))
    db: int = 0

    @classmethod
    def of(cls, settings: Settings) -> RedisTarget:
        """Where the settings say Redis is (Settings has checked that they say it once)."""
        return cls(
            url=settings.redis_url,
            sentinels=tuple(settings.sentinels),
            master=settings.redis_sentinel_master.strip(),
            password=settings.redis_password,
            sentinel_password=settings.redis_sentinel_password,
            db=settings.redis_db,
        )

    @classmethod
    def at(cls, url: str) -> RedisTarget:
        return cls(url=url)

    @property
    def through_sentinel(self) -> bool:
        return bool(self.sentinels)

    def client(self) -> aioredis.Redis:
        """The store's client: strings in and out, failing fast, following the master."""
        if self.through_sentinel:
            return self._master(_FollowingRedis, decode_responses=True)
        return aioredis.from_url(self.url, decode_responses=True, **self._auth(), **_url_options())

    def arq_redis(self) -> ArqRedis:
        """The job queue's client (arq's ArqRedis: bytes, as arq expects), failing fast and
        following the master like :meth:`client`. Nothing is asked of Redis yet."""
        if self.through_sentinel:
            return self._master(_FollowingArqRedis)
        return ArqRedis.from_url(self.url, **self._auth(), **_url_options())

    async def arq_pool(self) -> ArqRedis:
        """:meth:`arq_redis` once Redis answers it (as ``arq.create_pool`` does); a RedisError
        when it does not."""
        pool = self.arq_redis()
        try:
            await pool.ping()
        except BaseException:
            await pool.aclose()
            raise
        return pool

    def arq_settings(self) -> RedisSettings:
        """The same Redis as arq's own settings, for ``arq.create_pool`` and arq's Worker.
        arq's Sentinel support takes no password for the sentinels themselves, nor timeouts:
        shipbot's worker uses :meth:`arq_pool` instead. A SettingsError when the sentinels
        have a password (settings without it would be refused by every sentinel)."""
        if not self.through_sentinel:
            settings = RedisSettings.from_dsn(self.url)
            settings.password = settings.password or self._auth().get("password")
            return settings
        if self.sentinel_password.get_secret_value():
            raise SettingsError("REDIS_SENTINEL_PASSWORD: arq's own settings can't carry it")
        return RedisSettings(
            host=list(self.sentinels),
            sentinel=True,
            sentinel_master=self.master,
            password=self._auth().get("password"),
            database=self.db,
        )

    @contextlib.asynccontextmanager
    async def watch(self, *clients: aioredis.Redis) -> AsyncIterator[None]:
        """While inside: ``clients`` (built by this target) leave the old master as soon as the
        sentinels announce a switch. Nothing to do for REDIS_URL."""
        pools = [c.connection_pool for c in clients if isinstance(c.connection_pool, SwitchingPool)]
        if not pools:
            yield
            return
        options = {**self._sentinel_options(), "socket_keepalive": True}
        task = asyncio.create_task(follow_switches(self.sentinels, self.master, options, pools))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def __repr__(self) -> str:
        return f"RedisTarget({self})"

    def __str__(self) -> str:
        """For logs: where Redis is, never a password."""
        if self.through_sentinel:
            where = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"master {self.master!r} of sentinels {where} (db {self.db})"
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return parts._replace(netloc=netloc, query="").geturl()

    def _auth(self) -> dict[str, Any]:
        """The master's password, when set (a password in REDIS_URL wins over it)."""
        secret = self.password.get_secret_value()
        return {"password": secret} if secret else {}

    def _master(self, kind: type[R], **options: Any) -> R:
        watchers = Sentinel(
            self.sentinels, sentinel_kwargs=self._sentinel_options(), db=self.db, **self._auth()
        )
        client = watchers.master_for(
            self.master,
            redis_class=kind,
            connection_pool_class=SwitchingPool,
            connection_class=FencedConnection,
            **options,
            **_fail_fast(),
        )
        client.watchers = watchers
        return client

    def _sentinel_options(self) -> dict[str, Any]:
        """How to talk to the sentinels themselves (they have their own password, if any)."""
        secret = self.sentinel_password.get_secret_value()
        options: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT,
            "socket_timeout": COMMAND_TIMEOUT,
        }
        return {**options, "password": secret} if secret else options


class _FollowingRedis(aioredis.Redis):
    """The master as the sentinels know it; closing it closes the sentinels' clients too."""

    watchers: Sentinel

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        await _close_watchers(self)


class _FollowingArqRedis(ArqRedis):
    """arq's client of the master as the sentinels know it (see _FollowingRedis)."""

    watchers: Sentinel

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        await _close_watchers(self)


async def _close_watchers(client: _FollowingRedis | _FollowingArqRedis) -> None:
    watchers = getattr(client, "watchers", None)
    for sentinel in watchers.sentinels if watchers else ():
        await sentinel.aclose()


def connect(url: str) -> aioredis.Redis:
    """The store's client of the Redis at ``url`` (tests and benchmarks)."""
    return RedisTarget.at(url).client()

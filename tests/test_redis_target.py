"""Where Redis is: the settings that say it (REDIS_URL or Sentinel), their errors, and the
clients RedisTarget builds, against a real master, replica and three sentinels."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import redis
from arq.connections import ArqRedis
from redis import asyncio as aioredis

from bot.catalog.settings import Settings, SettingsError
from bot.ports.store import StoreUnavailable
from bot.store.connection import RedisTarget
from bot.store.keys import Keys
from bot.store.requests import RedisStore
from bot.store.sentinel_watch import SwitchingPool
from tests.sentinel import MASTER, Node, SentinelCluster
from tests.test_cli import shipbot
from tests.waiting import until

SECRET = "s3cr3t-pw"
NODE_PASSWORD, SENTINEL_PASSWORD, WRONG = "n0de-pw-7q", "s3ntinel-pw-4k", "wr0ng-pw-2x"


def loaded(**env: str) -> Settings:
    """Settings.load() with exactly ``env`` set (names upper-cased)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    with mock.patch.dict(os.environ, {**clean, **{k.upper(): v for k, v in env.items()}}, True):
        return Settings.load()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    with SentinelCluster(tmp_path_factory.mktemp("sentinel")) as running:
        yield running


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelCluster]:
    """Nodes that ask for NODE_PASSWORD, sentinels that ask for SENTINEL_PASSWORD."""
    directory = tmp_path_factory.mktemp("guarded")
    with SentinelCluster(directory, NODE_PASSWORD, SENTINEL_PASSWORD) as running:
        yield running


def through(cluster: SentinelCluster, **changes: str) -> RedisTarget:
    """The target the settings of ``cluster.env()`` (passwords too), with ``changes``, name."""
    return RedisTarget.of(loaded(**{**cluster.env(), **changes}))


def announced(client: aioredis.Redis) -> SwitchingPool:
    """The client's pool, which remembers the last switch its watcher announced."""
    assert isinstance(client.connection_pool, SwitchingPool)
    return client.connection_pool


def test_url_and_sentinels_together_are_refused_naming_both() -> None:
    """REDIS_URL and REDIS_SENTINELS both set: one line naming both, and neither value."""
    with pytest.raises(SettingsError) as refused:
        loaded(redis_url=f"redis://:{SECRET}@h:1/0", redis_sentinels="h:26379")
    message = str(refused.value)
    assert "REDIS_URL" in message and "REDIS_SENTINELS" in message and SECRET not in message


def test_sentinels_without_a_master_name_are_refused() -> None:
    """REDIS_SENTINELS without REDIS_SENTINEL_MASTER: the error names the missing variable."""
    with pytest.raises(SettingsError) as refused:
        loaded(redis_sentinels="h:26379")
    assert str(refused.value).startswith("REDIS_SENTINEL_MASTER: ")


@pytest.mark.parametrize("sentinels", ["zq9", "zq9:port", "zq9:26379,:1", "zq9:70000"])
def test_a_malformed_sentinel_address_is_refused_without_its_value(sentinels: str) -> None:
    """Each address must be host:port; the error names REDIS_SENTINELS, not what was given."""
    with pytest.raises(SettingsError) as refused:
        loaded(redis_sentinels=sentinels, redis_sentinel_master=MASTER)
    message = str(refused.value)
    assert message.startswith("REDIS_SENTINELS: ") and sentinels not in message


def test_sentinel_addresses_are_read_as_pairs() -> None:
    """Spaces are forgiven; an IPv6 address goes in brackets."""
    settings = loaded(redis_sentinels=" a:26379, [::1]:26380 ", redis_sentinel_master=MASTER)
    assert (("a", 26379), ("::1", 26380)) == RedisTarget.of(settings).sentinels


def test_the_target_names_where_redis_is_without_passwords() -> None:
    """For logs: the URL without its password; the sentinels and master without theirs."""
    url = RedisTarget.of(loaded(redis_url=f"redis://user:{SECRET}@redis:6379/2"))
    found = RedisTarget.of(
        loaded(
            redis_sentinels="s1:26379,s2:26379",
            redis_sentinel_master=MASTER,
            redis_password=SECRET,
            redis_sentinel_password=SECRET,
        )
    )
    assert "redis://redis:6379/2" == str(url)
    assert f"master '{MASTER}' of sentinels s1:26379,s2:26379 (db 0)" == str(found)
    assert SECRET not in repr(url) + repr(found)  # what %r, pytest and tracebacks show


def test_commands_without_redis_name_both_ways_to_set_it() -> None:
    """`shipbot audit verify` with neither REDIS_URL nor REDIS_SENTINELS says both."""
    result = shipbot("audit", "verify")
    assert "missing settings: REDIS_URL or REDIS_SENTINELS" in result.stderr


def test_both_ways_at_once_stop_the_process_naming_both() -> None:
    """`shipbot worker` with both set exits before doing anything, naming both variables."""
    env = {"REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_SENTINELS": "127.0.0.1:2"}
    result = shipbot("worker", env=env)
    assert 0 != result.returncode and "Traceback" not in result.stderr
    assert "REDIS_URL, REDIS_SENTINELS: set one or the other, not both" in result.stderr


async def test_the_store_finds_the_master_through_the_sentinels(
    cluster: SentinelCluster,
) -> None:
    """The store's client writes to the node the sentinels name as master."""
    client = through(cluster).client()
    try:
        await RedisStore(client, prefix="target").heartbeat("w1")
    finally:
        await client.aclose()
    with cluster.client() as direct:
        assert 1 == direct.zcard(Keys("target").workers())


async def test_the_job_queue_pool_is_arqs_on_the_master(cluster: SentinelCluster) -> None:
    """arq_pool() gives arq's ArqRedis on the master: a job enqueued is there."""
    pool = await through(cluster).arq_pool()
    try:
        assert isinstance(pool, ArqRedis)
        job = await pool.enqueue_job("noop", _job_id="target-job", _queue_name="target:q")
        assert job is not None
    finally:
        await pool.aclose()
    with cluster.client() as direct:
        assert 1 == direct.zcard("target:q")


async def test_the_client_follows_the_master_after_a_failover(tmp_path: Path) -> None:
    """One client across SENTINEL FAILOVER: a write meanwhile either lands or is
    StoreUnavailable; the next lands on the new master."""
    with SentinelCluster(tmp_path) as own:
        client = through(own).client()
        store = RedisStore(client, prefix="target")
        try:
            await store.heartbeat("before")
            own.failover()
            with contextlib.suppress(StoreUnavailable):
                await store.heartbeat("during")
            await store.heartbeat("after")
        finally:
            await client.aclose()
        with own.client() as direct:
            assert {"before", "after"} <= set(direct.zrange(Keys("target").workers(), 0, -1))


async def test_the_store_reads_and_writes_through_guarded_sentinels(
    guarded: SentinelCluster,
) -> None:
    """With REDIS_SENTINEL_PASSWORD and REDIS_PASSWORD, the store's client finds the master
    through sentinels that ask for a password, writes to it and reads back."""
    client = through(guarded).client()
    try:
        await RedisStore(client, prefix="guarded").heartbeat("w1")
        assert 1 == await client.zcard(Keys("guarded").workers())
    finally:
        await client.aclose()
    with guarded.master().client() as direct:
        assert 1 == direct.zcard(Keys("guarded").workers())


async def test_the_job_queue_pool_authenticates_to_sentinels_and_master(
    guarded: SentinelCluster,
) -> None:
    """arq_pool() with both passwords: a job enqueued is on the master."""
    pool = await through(guarded).arq_pool()
    try:
        await pool.enqueue_job("noop", _job_id="guarded-job", _queue_name="guarded:q")
    finally:
        await pool.aclose()
    with guarded.master().client() as direct:
        assert 1 == direct.zcard("guarded:q")


@pytest.mark.parametrize(
    "changes",
    [
        {"REDIS_SENTINEL_PASSWORD": WRONG},
        {"REDIS_SENTINEL_PASSWORD": ""},
        {"REDIS_PASSWORD": WRONG},
        {"REDIS_PASSWORD": ""},
    ],
    ids=["wrong-sentinel-password", "no-sentinel-password", "wrong-password", "no-password"],
)
async def test_a_wrong_or_missing_password_fails_saying_so_without_it(
    guarded: SentinelCluster, changes: dict[str, str]
) -> None:
    """A command fails with redis-py's authentication error (for the sentinels, inside
    MasterNotFoundError); neither its str nor its repr shows any of the passwords."""
    client = through(guarded, **changes).client()
    try:
        with pytest.raises(redis.ConnectionError) as failed:
            await client.get("guarded:anything")
    finally:
        await client.aclose()
    told = f"{failed.value} {failed.value!r}"
    assert "Authentication" in told
    assert all(password not in told for password in (NODE_PASSWORD, SENTINEL_PASSWORD, WRONG)), told


async def test_the_watched_client_follows_a_failover_with_passwords(tmp_path: Path) -> None:
    """Passwords on, one client across SENTINEL FAILOVER: watch() hears the switch from the
    sentinels (so it authenticated to them), and the next write lands on the new master."""
    with SentinelCluster(tmp_path, NODE_PASSWORD, SENTINEL_PASSWORD) as own:
        target = through(own)
        client = target.client()
        store = RedisStore(client, prefix="target")
        try:
            async with target.watch(client):
                await store.heartbeat("before")
                new: Node = await asyncio.to_thread(own.failover)
                heard = ("127.0.0.1", new.port)
                await until(lambda: announced(client).announced == heard, "the switch heard", 30)
                await store.heartbeat("after")
        finally:
            await client.aclose()
        with new.client() as direct:
            assert {"before", "after"} <= set(direct.zrange(Keys("target").workers(), 0, -1))


def test_arqs_own_settings_refuse_a_sentinel_password_they_cannot_carry() -> None:
    """arq's RedisSettings has no field for the sentinels' own password: arq_settings() says so,
    naming REDIS_SENTINEL_PASSWORD (not its value), instead of settings that lose it."""
    target = RedisTarget.of(
        loaded(
            redis_sentinels="h:26379", redis_sentinel_master=MASTER, redis_sentinel_password=SECRET
        )
    )
    with pytest.raises(SettingsError) as refused:
        target.arq_settings()
    message = str(refused.value)
    assert message.startswith("REDIS_SENTINEL_PASSWORD: ") and SECRET not in message

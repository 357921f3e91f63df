"""Where `shipbot console` keeps its state: the Redis of REDIS_URL (or REDIS_SENTINELS) when
one is set, else an in-process Redis (fakeredis, from the console extra, which the server
image does not install)."""

from __future__ import annotations

from redis import asyncio as aioredis

from bot.catalog.settings import Settings
from bot.store.connection import RedisTarget

IN_MEMORY = "State is in memory (an in-process Redis) and is lost when you quit."
IN_REDIS = (
    "State is in the Redis of REDIS_URL or REDIS_SENTINELS, under the key prefix {prefix!r}; "
    "it stays there."
)
NEEDS_EXTRA = (
    "shipbot console needs the console extra: pip install 'shipbot[console]' (or set REDIS_URL)"
)


class ConsoleExtraMissing(Exception):
    """No REDIS_URL, and no fakeredis for an in-process Redis (the server image has none)."""


def console_settings(settings: Settings) -> Settings:
    """With a real Redis, the console's own key prefix (``<prefix>-console``): the demo's
    requests stay out of production's."""
    if not settings.redis_configured:
        return settings
    prefix = f"{settings.shipbot_key_prefix}-console"
    return settings.model_copy(update={"shipbot_key_prefix": prefix})


def state_redis(settings: Settings) -> aioredis.Redis:
    """The configured Redis, else an in-process one."""
    if settings.redis_configured:
        return RedisTarget.of(settings).client()
    return in_process_redis()


def state_note(settings: Settings) -> str:
    """Where the console keeps its state, for the banner."""
    return (
        IN_REDIS.format(prefix=settings.shipbot_key_prefix)
        if settings.redis_configured
        else IN_MEMORY
    )


def in_process_redis() -> aioredis.Redis:
    """fakeredis, from the console extra: imported only here, so no server path needs it."""
    try:
        from fakeredis import aioredis as fake_aioredis
    except ImportError:
        raise ConsoleExtraMissing(NEEDS_EXTRA) from None
    return fake_aioredis.FakeRedis(decode_responses=True)

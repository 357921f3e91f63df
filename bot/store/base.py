"""What every part of the store shares: its Redis, its key names, and its one error."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from redis import asyncio as aioredis
from redis.exceptions import (
    ClusterDownError,
    ConnectionError,
    InvalidResponse,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    TimeoutError,
    TryAgainError,
)

from bot.ports.store import StoreFailed, StoreUnavailable
from bot.store.keys import Keys
from bot.store.scripts import Loaded

P = ParamSpec("P")
T = TypeVar("T")


# Redis cannot serve for now: unreachable, loading (a ConnectionError), a replica during a
# failover, out of memory, no master. Any other error it answers is a bug.
_PASSING = (ConnectionError, TimeoutError, InvalidResponse, ReadOnlyError, OutOfMemoryError)
_PASSING_TOO = (ClusterDownError, TryAgainError)
_PASSING_WORDS = ("MASTERDOWN", "BUSY", "NOREPLICAS")


def translated(fn: Callable[P, Awaitable[T]]) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis errors out of ``fn`` become :class:`StoreUnavailable` when Redis cannot serve for
    now, :class:`StoreFailed` when it refused what was asked."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await fn(*args, **kwargs)
        except RedisError as error:
            if _passing(error):
                raise StoreUnavailable(type(error).__name__) from None
            raise StoreFailed(f"{type(error).__name__}: {error}") from error

    return wrapper


def _passing(error: RedisError) -> bool:
    return isinstance(error, _PASSING + _PASSING_TOO) or str(error).startswith(_PASSING_WORDS)


class StoreBase:
    """The attributes the store's parts rely on; :class:`~bot.store.requests.RedisStore`
    sets them."""

    redis: aioredis.Redis
    key: Keys
    lease_seconds: int
    scripts: dict[str, Loaded]  # by name: see bot/store/scripts.py

    async def _now(self) -> float:
        """Redis's clock, which every process shares (their own clocks may differ)."""
        seconds, micros = await self.redis.time()
        return seconds + micros / 1e6

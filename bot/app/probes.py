"""The HTTP probes. ``GET /livez`` says only that the process answers HTTP (no Redis): the
orchestrator's startup, liveness and readiness probes, since a bot that cannot reach Redis
still answers people, telling them it can't reach its state store, and a restart would not
bring Redis back. ``GET /healthz`` says whether Redis answers (a cheap PING); ``GET /readyz``
also says whether at least one worker is alive (from the workers' heartbeats in Redis), so
that monitoring and a person can tell "no worker" from "healthy": alert on those two.

All answer JSON: 200 with ``"ok": true``, or 503 with ``"ok": false`` and what is wrong.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.models import Workers
from bot.ports.store import Store, StoreUnavailable
from handlers.blocks import duration_words

Endpoint = Callable[[Request], Awaitable[Response]]
REDIS_DOWN = {"ok": False, "redis": "unreachable"}


def routes(store: Store) -> list[Route]:
    """``/livez``, and ``/healthz`` and ``/readyz`` over ``store``."""
    return [
        Route("/livez", livez, methods=["GET"]),
        Route("/healthz", healthz(store), methods=["GET"]),
        Route("/readyz", readyz(store), methods=["GET"]),
    ]


async def livez(_: Request) -> Response:
    """The process answers: nothing else is asked."""
    return JSONResponse({"ok": True})


def healthz(store: Store) -> Endpoint:
    async def healthz(_: Request) -> Response:
        try:
            await store.ping()
        except StoreUnavailable:
            return JSONResponse(REDIS_DOWN, status_code=503)
        return JSONResponse({"ok": True, "redis": "ok"})

    return healthz


def readyz(store: Store) -> Endpoint:
    async def readyz(_: Request) -> Response:
        try:
            workers = await store.workers()
        except StoreUnavailable:
            reason = "shipbot can't reach Redis, its state store"
            return JSONResponse({**REDIS_DOWN, "workers": 0, "reason": reason}, status_code=503)
        if not workers.alive:
            body = {"ok": False, "redis": "ok", "workers": 0, "reason": no_worker(workers)}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"ok": True, "redis": "ok", "workers": workers.alive})

    return readyz


def no_worker(workers: Workers, now: float | None = None) -> str:
    """Why nothing queued would run: no worker alive, since when."""
    if workers.last_seen is None:
        since = "none has ever been seen"
    else:
        ago = (time.time() if now is None else now) - workers.last_seen
        since = f"the last heartbeat came {duration_words(ago)} ago"
    return f"no shipbot worker alive ({since}); queued deploys wait until `shipbot worker` runs"

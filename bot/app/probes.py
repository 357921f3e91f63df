"""The HTTP probes: ``GET /healthz`` says whether Redis answers (a cheap PING, for liveness);
``GET /readyz`` also says whether at least one worker is alive (from the workers' heartbeats
in Redis), so that an orchestrator and a person can tell "no worker" from "healthy".

Both answer JSON: 200 with ``"ok": true``, or 503 with ``"ok": false`` and what is wrong.
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
    """``/healthz`` and ``/readyz`` over ``store``."""
    return [
        Route("/healthz", healthz(store), methods=["GET"]),
        Route("/readyz", readyz(store), methods=["GET"]),
    ]


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

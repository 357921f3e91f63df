"""The HTTP face of shipbot: Slack events, GitLab webhooks, health and Prometheus metrics
(Starlette + uvicorn)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from arq.connections import ArqRedis
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import logs
from bot.catalog import Catalog, load_catalog
from bot.config import Settings
from bot.queue import ArqQueue
from bot.store import Store, StoreUnavailable, connect
from bot.wiring import build_services, shared_session, slack_client
from handlers.app import build_app
from handlers.webhooks import gitlab_webhook

log = logging.getLogger(__name__)
SLACK_REQUESTS = Counter("shipbot_slack_requests_total", "Requests received from Slack", ["status"])
SLACK_LATENCY = Histogram(
    "shipbot_slack_response_seconds",
    "Time to answer Slack (the ack)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3),
)


def from_environment() -> Starlette:
    """The app as `shipbot serve` runs it in each uvicorn worker process."""
    logs.setup()
    settings = Settings()
    return create_app(settings, load_catalog(settings.shipbot_catalog))


def create_app(settings: Settings, catalog: Catalog) -> Starlette:
    redis = connect(settings.redis_url)
    pool = ArqRedis.from_url(settings.redis_url, socket_connect_timeout=0.5, socket_timeout=2.0)
    client = slack_client(settings)
    services = build_services(
        settings, catalog, redis, ArqQueue(pool, settings.shipbot_key_prefix), client
    )
    bolt = build_app(services, client, settings.slack_signing_secret.get_secret_value())
    slack = AsyncSlackRequestHandler(bolt)

    verifier = SignatureVerifier(settings.slack_signing_secret.get_secret_value())
    gitlab_secret = settings.gitlab_webhook_secret.get_secret_value()

    async def events(request: Request) -> Response:
        started = time.perf_counter()
        response = await _answer(request)
        SLACK_LATENCY.observe(time.perf_counter() - started)
        SLACK_REQUESTS.labels(status=str(response.status_code)).inc()
        return response

    async def _answer(request: Request) -> Response:
        try:
            return await slack.handle(request)  # Bolt verifies the signature
        except Exception as error:
            # Bolt parses the body before verifying it, so a body it cannot parse ends here:
            # unsigned (forged) gets 401 like any forgery, signed but unreadable gets 400.
            signed = verifier.is_valid_request(await request.body(), dict(request.headers))
            log.warning("unreadable Slack request (%s), signed: %s", type(error).__name__, signed)
            return JSONResponse({"error": "bad request"}, status_code=400 if signed else 401)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with shared_session(client):
            yield
        await redis.aclose()
        await pool.aclose()

    routes = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/gitlab/webhook", gitlab_webhook(services, gitlab_secret), methods=["POST"]),
        Route("/healthz", _healthz(services.store), methods=["GET"]),
        Route("/metrics", _metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _healthz(store: Store) -> Callable[[Request], Awaitable[Response]]:
    async def healthz(_: Request) -> Response:
        try:
            await store.ping()
        except StoreUnavailable:
            return JSONResponse({"ok": False, "redis": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "redis": "ok"})

    return healthz


async def _metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

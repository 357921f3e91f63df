"""The HTTP face of shipbot: Slack events, GitLab webhooks, the probes (bot/app/probes.py) and
Prometheus metrics (Starlette + uvicorn).

``POST /slack/events`` goes through the gate (bot/app/slack_gate.py) before Bolt: the signature
is checked there, once, and Bolt gets the parsed body of a signed, well-formed request; shipbot's
own slash commands are answered by their listeners directly (handlers/direct.py).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import time
from collections.abc import AsyncIterator, Sequence

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import logs, probes, prometheus
from bot.app.prometheus_dir import MULTIPROC_VARIABLE
from bot.app.slack_gate import SSL_CHECK, Admitted, Answer, admit
from bot.app.startup import identity_from_env
from bot.app.uvicorn_log import quiet_uvicorn
from bot.app.wiring import build_services, shared_session, slack_client
from bot.catalog.model import Catalog, load_catalog
from bot.catalog.settings import Settings
from bot.store.connection import RedisTarget
from bot.store.queue import ArqQueue
from handlers.app import SlackApp, build_slack_app
from handlers.webhooks import gitlab_webhook

log = logging.getLogger(__name__)


def from_environment() -> Starlette:
    """The app as `shipbot serve` runs it in each uvicorn worker process."""
    settings = Settings()
    logs.setup(settings.shipbot_log_format)
    quiet_uvicorn()
    # Read once: Bolt would read these again from the environment (and warn about them).
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        os.environ.pop(name, None)
    multiprocess_dir = os.environ.get(MULTIPROC_VARIABLE)  # set by `serve --workers N`
    app = create_app(settings, load_catalog(settings.shipbot_catalog), multiprocess_dir)
    # What start-up made (modules, the catalog, the trading calendars) lives as long as the
    # process: out of the collector's sight, so its full collections stay short on the ack path
    # (bench/ack_path.py: p99 from 34-44 ms to 18-23 ms). A request leaves few cycles, so the
    # youngest generation is collected every 20,000 allocations rather than every 700.
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    return app


def create_app(
    settings: Settings, catalog: Catalog, multiprocess_dir: str | None = None
) -> Starlette:
    """The app; ``multiprocess_dir``: where the HTTP processes of `serve --workers N` keep
    their Prometheus counters (see bot/app/prometheus.py)."""
    target = RedisTarget.of(settings)
    redis, pool = target.client(), target.arq_redis()
    client = slack_client(settings)
    services = build_services(
        settings, catalog, redis, ArqQueue(pool, settings.shipbot_key_prefix), client
    )
    signing_secret = settings.slack_signing_secret.get_secret_value()
    identity = identity_from_env(os.environ, settings.slack_bot_token.get_secret_value())
    slack = build_slack_app(services, client, signing_secret, identity=identity)
    gitlab_secret = settings.gitlab_webhook_secret.get_secret_value()
    replica = prometheus.replica_registry(multiprocess_dir)

    async def events(request: Request) -> Response:
        started = time.perf_counter()
        response = await _slack_answer(slack, signing_secret.encode(), request)
        prometheus.SLACK_LATENCY.observe(time.perf_counter() - started)
        prometheus.SLACK_REQUESTS.labels(status=str(response.status_code)).inc()
        return response

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with shared_session(client), target.watch(redis, pool):
            yield
        await redis.aclose()
        await pool.aclose()

    routes = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/gitlab/webhook", gitlab_webhook(services, gitlab_secret), methods=["POST"]),
        *probes.routes(services.store),
        Route("/metrics", prometheus.endpoint(services.store, replica), methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


async def _slack_answer(slack: SlackApp, secret: bytes, request: Request) -> Response:
    raw = await request.body()
    verdict = admit(raw, request.headers, secret, time.time())
    if isinstance(verdict, Answer):
        return _gate_answer(verdict, len(raw))
    if listener := slack.direct.listener_for(verdict.body):  # a command: no Bolt dispatch
        return to_starlette_response(await slack.direct.answer(listener, verdict.body))
    bolt_request = _bolt_request(verdict, request)
    if bolt_request is None:
        return _gate_answer(Answer(400, "malformed payload"), len(raw))
    return to_starlette_response(await slack.bolt.async_dispatch(bolt_request))


def _bolt_request(admitted: Admitted, request: Request) -> AsyncBoltRequest | None:
    """Bolt's request for a body the gate parsed; None when Bolt cannot read its fields.

    Bolt takes a parsed body only in its "socket_mode" mode; here that changes nothing but
    to skip Bolt's own signature check, which the gate has made already.
    """
    try:
        headers: dict[str, str | Sequence[str]] = dict(request.headers)
        return AsyncBoltRequest(body=admitted.body, headers=headers, mode="socket_mode")
    except (AttributeError, TypeError, KeyError, IndexError, ValueError):
        return None


def _gate_answer(answer: Answer, size: int) -> Response:
    if answer == SSL_CHECK:
        return Response(status_code=200)
    log.warning("refused a Slack request (%d bytes): %d %s", size, answer.status, answer.reason)
    return JSONResponse({"error": answer.reason}, status_code=answer.status)

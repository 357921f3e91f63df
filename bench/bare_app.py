"""A bare Bolt AsyncApp whose /deploy only acks: the floor for shipbot's ack path.

It is served exactly like shipbot (Bolt's Starlette adapter under uvicorn, the same
signing secret, its own process) so bench/ack_path.py measures both alike.

    SLACK_SIGNING_SECRET=... SLACK_BOT_TOKEN=... SLACK_API_URL=http://127.0.0.1:PORT/api/ \\
        python bench/bare_app.py --port 3001

AsyncApp has no ``token_verification_enabled`` (only the sync App does): it calls
auth.test lazily, on the first request, through the client below, so pointing that
client at FakeSlack (SLACK_API_URL) is what keeps the bare app off the internet.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def build_app(signing_secret: str, token: str, api_url: str) -> Starlette:
    bolt = AsyncApp(
        client=AsyncWebClient(token=token, base_url=api_url, timeout=5),
        signing_secret=signing_secret,
    )
    bolt.command("/deploy")(_ack_only)
    slack = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await slack.handle(request)

    routes = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", _healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes)


async def _ack_only(ack: Any) -> None:
    await ack(response_type="ephemeral", text="Request accepted.")


async def _healthz(_: Request) -> Response:
    return JSONResponse({"ok": True})


def from_environment() -> Starlette:
    return build_app(
        os.environ["SLACK_SIGNING_SECRET"],
        os.environ["SLACK_BOT_TOKEN"],
        os.environ["SLACK_API_URL"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bare_app:from_environment",
        factory=True,
        app_dir=os.path.dirname(os.path.abspath(__file__)),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
    )


if __name__ == "__main__":
    main()

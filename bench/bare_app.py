"""A bare Bolt AsyncApp whose /deploy only acks: the floor for shipbot's ack path.

It is served exactly like shipbot (Bolt's Starlette adapter under uvicorn, the same
signing secret, its own process) so bench/ack_path.py measures both alike.

    SLACK_SIGNING_SECRET=... SLACK_BOT_TOKEN=... SLACK_API_URL=http://127.0.0.1:PORT/api/ \\
        python bench/bare_app.py --port 3001

AsyncApp has no ``token_verification_enabled`` (only the sync App does): it calls
auth.test lazily, on the first request, through the client below, so pointing that
client at FakeSlack (SLACK_API_URL) is what keeps the bare app off the internet.

By default Bolt runs the listener in a task of its own and checks every 10 ms whether it has
acked (slack_bolt/listener/asyncio_runner.py), so at 20 connections this app is bound by that
wait, not by its CPU. ``--process-before-response`` (Bolt's ``process_before_response=True``)
answers as soon as the listener returns: the app bound by its CPU, which bench/ack_path.py
reports beside the default for reference.
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

PROCESS_BEFORE_RESPONSE = "BARE_APP_PROCESS_BEFORE_RESPONSE"


def build_app(
    signing_secret: str, token: str, api_url: str, process_before_response: bool = False
) -> Starlette:
    bolt = AsyncApp(
        client=AsyncWebClient(token=token, base_url=api_url, timeout=5),
        signing_secret=signing_secret,
        process_before_response=process_before_response,
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
        os.environ.get(PROCESS_BEFORE_RESPONSE) == "1",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--process-before-response",
        action="store_true",
        help="answer once the listener returns, instead of Bolt's default (see above)",
    )
    args = parser.parse_args()
    if args.process_before_response:
        os.environ[PROCESS_BEFORE_RESPONSE] = "1"  # for from_environment, in uvicorn's process
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

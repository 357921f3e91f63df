"""The `shipbot` command: serve, socket, worker, console, check."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from bot import logs
from bot.catalog import Catalog, CatalogError, check_catalog, load_catalog
from bot.config import Settings

DEMO_CATALOG = "examples/demo/catalog.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.run(args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shipbot",
        description="ChatOps delivery bot: /deploy from Slack, approvals, deploys, release notes.",
        epilog="Settings come from the environment; see the README for the full list.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="answer Slack (POST /slack/events) and GitLab (POST /gitlab/webhook) over HTTP",
    )
    serve.add_argument("--port", type=int, help="listen port (default $SHIPBOT_PORT or 3000)")
    serve.add_argument("--host", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    serve.add_argument("--workers", type=int, default=1, help="HTTP processes (default 1)")
    serve.set_defaults(run=_serve)
    sub.add_parser("socket", help="answer Slack over Socket Mode").set_defaults(run=_socket)
    worker = sub.add_parser(
        "worker", help="run queued deploys with Ansible, Kubernetes, GitLab, Argo CD"
    )
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(run=_worker)
    console = sub.add_parser("console", help="the same bot in a terminal, for trying it out")
    console.add_argument("--catalog", default=None, help=f"catalog file (default {DEMO_CATALOG})")
    console.add_argument("--as", dest="user", default="U0DEV", help="who you are at first")
    console.set_defaults(run=_console)
    check = sub.add_parser("check", help="validate a catalog and print each error with its line")
    check.add_argument("catalog")
    check.set_defaults(run=_check)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings, _ = _ready("slack_bot_token", "slack_signing_secret", "redis_url", "shipbot_catalog")
    uvicorn.run(
        "bot.server:from_environment",
        factory=True,
        host=args.host,
        port=args.port or settings.shipbot_port,
        workers=args.workers,
        log_level="warning",
        log_config=None,  # uvicorn logs through shipbot's handler, which scrubs secrets
    )
    return 0


def _socket(_: argparse.Namespace) -> int:
    from bot.socket_mode import AppTokenRefused, run_socket_mode

    settings, catalog = _ready("slack_bot_token", "slack_app_token", "redis_url", "shipbot_catalog")
    try:
        asyncio.run(run_socket_mode(settings, catalog))
    except AppTokenRefused as refused:
        raise SystemExit(f"shipbot: Slack refused SLACK_APP_TOKEN ({refused})") from None
    return 0


def _worker(args: argparse.Namespace) -> int:
    from bot.wiring import settings_needed
    from bot.worker import work

    settings, catalog = _ready("slack_bot_token", "redis_url", "shipbot_catalog")
    missing = settings.missing(*settings_needed(catalog))
    if missing:
        raise SystemExit(f"shipbot: the catalog's deployers need: {', '.join(missing)}")
    _keep_secrets_from_playbooks()
    with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
        asyncio.run(work(settings, catalog, burst=args.burst))
    return 0


def _console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    logs.setup(logging.WARNING)
    settings = Settings()
    catalog = _catalog(args.catalog or settings.shipbot_catalog or DEMO_CATALOG)
    _keep_secrets_from_playbooks()
    return asyncio.run(run_console(settings, catalog, args.user, sys.stdin, sys.stdout))


def _check(args: argparse.Namespace) -> int:
    issues = check_catalog(args.catalog)
    for issue in issues:
        print(issue, file=sys.stderr)
    if not issues:
        print(f"{args.catalog}: ok")
    return 1 if issues else 0


SECRETS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "GITLAB_TOKEN",
    "GITLAB_WEBHOOK_SECRET",
    "ARGOCD_TOKEN",
    "REDIS_URL",
)


def _keep_secrets_from_playbooks() -> None:
    """Settings are read; drop secrets from the environment that playbooks inherit."""
    for name in SECRETS:
        os.environ.pop(name, None)


def _ready(*required: str) -> tuple[Settings, Catalog]:
    logs.setup()
    settings = Settings()
    missing = settings.missing(*required)
    if missing:
        raise SystemExit(f"shipbot: missing settings: {', '.join(missing)} (see the README)")
    return settings, _catalog(settings.shipbot_catalog)


def _catalog(path: str) -> Catalog:
    try:
        return load_catalog(path)
    except CatalogError as error:
        raise SystemExit(f"shipbot: the catalog is not valid:\n{error}") from None


if __name__ == "__main__":
    sys.exit(main())

"""What each `shipbot` command runs (bot/app/cli.py parses the command line), and the set-up
they share: settings and the catalog read once, secrets kept from the playbooks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import alive, audit_cli, logs
from bot.app.prometheus_dir import metrics_dir
from bot.catalog.model import Catalog, CatalogError, check_catalog, load_catalog
from bot.catalog.settings import REDIS, Settings, SettingsError

if TYPE_CHECKING:
    from slack_bolt.authorization import AuthorizeResult

DEMO_CATALOG = "examples/demo/catalog.yaml"


def serve(args: argparse.Namespace) -> int:
    if args.alive:  # a probe: no metrics directory, the environment left as it is
        return alive.serving(args.port or _settings().shipbot_port)
    # First: prometheus_client reads PROMETHEUS_MULTIPROC_DIR once, when it is imported.
    with metrics_dir(args.workers):
        import uvicorn

        from bot.app.startup import IDENTITY_VARIABLE, identity_to_env, report_redis
        from bot.app.uvicorn_log import quiet_uvicorn
        from bot.store.connection import RedisTarget

        settings, _ = _ready("slack_bot_token", "slack_signing_secret", REDIS, "shipbot_catalog")
        identity = _slack_identity(settings)
        asyncio.run(report_redis(RedisTarget.of(settings)))
        os.environ[IDENTITY_VARIABLE] = identity_to_env(identity)  # for every HTTP process
        quiet_uvicorn()
        uvicorn.run(
            "bot.app.server:from_environment",
            factory=True,
            host=args.host,
            port=args.port or settings.shipbot_port,
            workers=args.workers,
            log_level="info",  # reduced by quiet_uvicorn to warnings and where it listens
            access_log=False,
            log_config=None,  # uvicorn logs through shipbot's handler, which scrubs secrets
        )
    return 0


def _slack_identity(settings: Settings) -> AuthorizeResult:
    """What Slack says the bot token is; exits when Slack refuses the token."""
    from bot.app.startup import TokenRefused, bot_identity

    token = settings.slack_bot_token.get_secret_value()
    try:
        return asyncio.run(bot_identity(settings.api_url, token))
    except TokenRefused as refused:
        raise SystemExit(f"shipbot: Slack refused SLACK_BOT_TOKEN ({refused})") from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def socket(args: argparse.Namespace) -> int:
    if args.alive:
        return alive.touched("socket", Path(_settings().shipbot_alive_file))
    from bot.app.socket_mode import AppTokenRefused, run_socket_mode
    from bot.app.startup import TokenRefused

    settings, catalog = _ready("slack_bot_token", "slack_app_token", REDIS, "shipbot_catalog")
    _keep_secrets_from_playbooks()  # read once; Bolt would read them again from here
    try:
        asyncio.run(run_socket_mode(settings, catalog))
    except TokenRefused as refused:
        raise SystemExit(f"shipbot: Slack refused SLACK_BOT_TOKEN ({refused})") from None
    except AppTokenRefused as refused:
        raise SystemExit(f"shipbot: Slack refused SLACK_APP_TOKEN ({refused})") from None
    except KeyboardInterrupt:
        return 130
    return 0


def worker(args: argparse.Namespace) -> int:
    if args.alive:
        return alive.touched("worker", Path(_settings().shipbot_alive_file))
    from bot.app.wiring import settings_needed
    from bot.app.worker import work

    settings, catalog = _ready("slack_bot_token", REDIS, "shipbot_catalog")
    missing = settings.missing(*settings_needed(catalog))
    if missing:
        raise SystemExit(f"shipbot: the catalog's deployers need: {', '.join(missing)}")
    _keep_secrets_from_playbooks()
    with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
        asyncio.run(work(settings, catalog, burst=args.burst))
    return 0


def console(args: argparse.Namespace) -> int:
    from bot.app.console import run_console
    from bot.app.console_redis import ConsoleExtraMissing

    settings = _settings()
    logs.setup(settings.shipbot_log_format, logging.WARNING)
    catalog = _catalog(args.catalog or settings.shipbot_catalog or DEMO_CATALOG)
    _keep_secrets_from_playbooks()
    try:
        return asyncio.run(run_console(settings, catalog, args.user, sys.stdin, sys.stdout))
    except ConsoleExtraMissing as missing:
        raise SystemExit(str(missing)) from None


def metrics(_: argparse.Namespace) -> int:
    from bot.app.wiring import rebuild_metrics
    from bot.ports.store import StoreUnavailable

    settings, catalog = _ready(REDIS, "shipbot_catalog")
    try:
        runs, leads = asyncio.run(rebuild_metrics(settings, catalog))
    except StoreUnavailable as error:
        raise SystemExit(f"shipbot: can't reach Redis ({error}); nothing was changed") from None
    print(f"rebuilt the delivery metrics from {runs} runs and {leads} deploys' lead times")
    return 0


def audit(args: argparse.Namespace) -> int:
    if args.action == "verify" and args.file:
        return audit_cli.verify_file(args.file)
    return audit_cli.run(args, _set_up(REDIS))


def check(args: argparse.Namespace) -> int:
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
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
)


def _keep_secrets_from_playbooks() -> None:
    """Settings are read; drop secrets from the environment that playbooks inherit."""
    for name in SECRETS:
        os.environ.pop(name, None)


def _ready(*required: str) -> tuple[Settings, Catalog]:
    """The settings, with ``required`` set, and the catalog they name; logging set up."""
    settings = _set_up(*required)
    return settings, _catalog(settings.shipbot_catalog)


def _set_up(*required: str) -> Settings:
    """The settings, with ``required`` set (else exit, naming what is missing); logging set up."""
    settings = _settings()
    logs.setup(settings.shipbot_log_format)
    if missing := settings.missing(*required):
        raise SystemExit(f"shipbot: missing settings: {', '.join(missing)} (see the README)")
    return settings


def _settings() -> Settings:
    try:
        return Settings.load()
    except SettingsError as error:
        raise SystemExit(f"shipbot: invalid settings (see the README):\n{error}") from None


def _catalog(path: str) -> Catalog:
    try:
        return load_catalog(path)
    except CatalogError as error:
        raise SystemExit(f"shipbot: the catalog is not valid:\n{error}") from None

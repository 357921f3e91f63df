"""The `shipbot` command: serve, socket, worker, console, check, metrics, audit."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from bot.app import alive, audit_cli, logs
from bot.app.cli_help import command
from bot.app.prometheus_dir import metrics_dir
from bot.catalog.model import Catalog, CatalogError, check_catalog, load_catalog
from bot.catalog.settings import REDIS, Settings, SettingsError

if TYPE_CHECKING:
    from slack_bolt.authorization import AuthorizeResult

DEMO_CATALOG = "examples/demo/catalog.yaml"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.run(args) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shipbot",
        description=(
            "ChatOps delivery bot: /deploy from Slack, approvals, deploys, release notes, /metrics."
        ),
        epilog="Settings come from the environment; `shipbot COMMAND --help` names them.",
    )
    parser.add_argument("--version", action="version", version=f"shipbot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = command(
        sub,
        "serve",
        "answer Slack (POST /slack/events) and GitLab (POST /gitlab/webhook) over HTTP",
        "Serve Slack's requests and GitLab's webhooks over HTTP, plus GET /healthz (Redis),\n"
        "GET /readyz (Redis and a live worker) and GET /metrics. Checks the bot token with\n"
        "Slack first (retrying while Slack cannot be reached) and says in the log when\n"
        "Redis is down.",
    )
    serve.add_argument("--port", type=int, help="listen port (default $SHIPBOT_PORT or 3000)")
    every = "0.0.0.0"  # noqa: S104 (a server in a container listens on its pod's address)
    serve.add_argument("--host", default=every, help="listen address (default 0.0.0.0)")
    serve.add_argument("--workers", type=int, default=1, help="HTTP processes (default 1)")
    serve.add_argument(
        "--alive",
        action="store_true",
        help="serve nothing: exit 0 if GET /livez on 127.0.0.1 (--port) answers, else 1",
    )
    serve.set_defaults(run=_serve)
    socket = command(
        sub,
        "socket",
        "answer Slack over Socket Mode",
        "Answer Slack over Socket Mode instead of `serve`, for hosts Slack cannot reach.\n"
        "Checks the bot token and the app-level token with Slack first. Touches a liveness\n"
        "file every 10 s; `shipbot socket --alive` checks it (for an exec liveness probe).",
    )
    socket.add_argument(
        "--alive",
        action="store_true",
        help="run no bot: exit 0 if a socket-mode bot touched the liveness file in the last "
        "60 s, else 1 with the reason",
    )
    socket.set_defaults(run=_socket)
    worker = command(
        sub,
        "worker",
        "run queued deploys with Ansible, Kubernetes, GitLab, Argo CD",
        "Run queued deploys and rollbacks, post cards, progress and release notes; end\n"
        "deploys whose worker died (checked every 5 seconds) and expire requests past\n"
        "their approval window (every 30 seconds). Workers say they are alive every 10 s.\n"
        "They post the /metrics cards and charts, and the metrics digest when it is due\n"
        "(checked every minute); once a day they trim the audit trail past retention and\n"
        "post its head hash to notify.audit_channel. Each beat also touches a liveness file;\n"
        "`shipbot worker --alive` checks it (for a container's exec liveness probe).",
    )
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.add_argument(
        "--alive",
        action="store_true",
        help="run no worker: exit 0 if a worker touched the liveness file in the last 60 s, "
        "else 1 with the reason",
    )
    worker.set_defaults(run=_worker)
    console = command(
        sub,
        "console",
        "the same bot in a terminal, for trying it out",
        "The same handlers and domain in a terminal instead of Slack: type slash commands,\n"
        "press buttons by number, switch who you are with `as USER`. Deploys run in this\n"
        "process. /metrics prints its card and writes its chart to a PNG file whose path\n"
        "it prints (under shipbot-console/ in the temporary directory).",
    )
    console.add_argument("--catalog", default=None, help=f"catalog file (default {DEMO_CATALOG})")
    console.add_argument("--as", dest="user", default="U0DEV", help="who you are at first")
    console.set_defaults(run=_console)
    check = command(
        sub,
        "check",
        "validate a catalog and print each error with its line",
        "Validate a catalog file: print each error as file:line: location: message and exit 1\n"
        "if there is any. Reads no settings.",
    )
    check.add_argument("catalog")
    check.set_defaults(run=_check)
    metrics = command(
        sub,
        "metrics",
        "maintain the delivery metrics kept in Redis",
        "rebuild: recompute the delivery metrics' day aggregates from the history kept in\n"
        "Redis (after changing which environments are production, or the catalog's time\n"
        "zone). Run it while no deploy is running: one that ends meanwhile may count twice.",
    )
    metrics.add_argument("action", choices=["rebuild"])
    metrics.set_defaults(run=_metrics)
    audit = command(
        sub,
        "audit",
        "verify the audit trail's hash chain, or export it for an auditor",
        "verify: check the hash chain in Redis (or, with --file, an export, offline);\n"
        "export: write a period's entries with their hashes (jsonl or csv).\n"
        "`shipbot audit ACTION --help` says more.",
    )
    audit_cli.register(audit)
    audit.set_defaults(run=_audit)
    return parser


def _version() -> str:
    try:
        return version("shipbot")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _serve(args: argparse.Namespace) -> int:
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


def _socket(args: argparse.Namespace) -> int:
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


def _worker(args: argparse.Namespace) -> int:
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


def _console(args: argparse.Namespace) -> int:
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


def _metrics(_: argparse.Namespace) -> int:
    from bot.app.wiring import rebuild_metrics
    from bot.ports.store import StoreUnavailable

    settings, catalog = _ready(REDIS, "shipbot_catalog")
    try:
        runs, leads = asyncio.run(rebuild_metrics(settings, catalog))
    except StoreUnavailable as error:
        raise SystemExit(f"shipbot: can't reach Redis ({error}); nothing was changed") from None
    print(f"rebuilt the delivery metrics from {runs} runs and {leads} deploys' lead times")
    return 0


def _audit(args: argparse.Namespace) -> int:
    if args.action == "verify" and args.file:
        return audit_cli.verify_file(args.file)
    settings = _settings()
    logs.setup(settings.shipbot_log_format)
    if missing := settings.missing(REDIS):
        raise SystemExit(f"shipbot: missing settings: {', '.join(missing)} (see the README)")
    return audit_cli.run(args, settings)


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
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
)


def _keep_secrets_from_playbooks() -> None:
    """Settings are read; drop secrets from the environment that playbooks inherit."""
    for name in SECRETS:
        os.environ.pop(name, None)


def _ready(*required: str) -> tuple[Settings, Catalog]:
    settings = _settings()
    logs.setup(settings.shipbot_log_format)
    missing = settings.missing(*required)
    if missing:
        raise SystemExit(f"shipbot: missing settings: {', '.join(missing)} (see the README)")
    return settings, _catalog(settings.shipbot_catalog)


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


if __name__ == "__main__":
    sys.exit(main())

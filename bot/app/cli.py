"""The `shipbot` command line: serve, socket, worker, console, check, metrics, audit (what each
runs is in bot/app/cli_commands.py)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from bot.app import audit_cli, cli_commands
from bot.app.cli_commands import DEMO_CATALOG
from bot.app.cli_help import command


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
    serve.set_defaults(run=cli_commands.serve)
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
    socket.set_defaults(run=cli_commands.socket)
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
    worker.set_defaults(run=cli_commands.worker)
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
    console.set_defaults(run=cli_commands.console)
    check = command(
        sub,
        "check",
        "validate a catalog and print each error with its line",
        "Validate a catalog file: print each error as file:line: location: message and exit 1\n"
        "if there is any. Reads no settings.",
    )
    check.add_argument("catalog")
    check.set_defaults(run=cli_commands.check)
    metrics = command(
        sub,
        "metrics",
        "maintain the delivery metrics kept in Redis",
        "rebuild: recompute the delivery metrics' day aggregates from the history kept in\n"
        "Redis (after changing which environments are production, or the catalog's time\n"
        "zone). Run it while no deploy is running: one that ends meanwhile may count twice.",
    )
    metrics.add_argument("action", choices=["rebuild"])
    metrics.set_defaults(run=cli_commands.metrics)
    audit = command(
        sub,
        "audit",
        "verify the audit trail's hash chain, or export it for an auditor",
        "verify: check the hash chain in Redis (or, with --file, an export, offline);\n"
        "export: write a period's entries with their hashes (jsonl or csv).\n"
        "`shipbot audit ACTION --help` says more.",
    )
    audit_cli.register(audit)
    audit.set_defaults(run=cli_commands.audit)
    return parser


def _version() -> str:
    try:
        return version("shipbot")
    except PackageNotFoundError:
        return "unknown (not installed)"


if __name__ == "__main__":
    sys.exit(main())

"""The CLI's help: each command's parser with what it reads from the environment."""

from __future__ import annotations

import argparse

# What each command reads from the environment, as the README's Environment table says.
ENVIRONMENT = {
    "serve": (
        "needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, REDIS_URL, SHIPBOT_CATALOG\n"
        "reads SLACK_API_URL, SHIPBOT_PORT, SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json),\n"
        "      GITLAB_WEBHOOK_SECRET (without it, /gitlab/webhook is not configured)"
    ),
    "socket": (
        "needs SLACK_BOT_TOKEN, SLACK_APP_TOKEN, REDIS_URL, SHIPBOT_CATALOG\n"
        "reads SLACK_API_URL, SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json)"
    ),
    "worker": (
        "needs SLACK_BOT_TOKEN, REDIS_URL, SHIPBOT_CATALOG\n"
        "reads SLACK_API_URL, SHIPBOT_KEY_PREFIX, SHIPBOT_LEASE_SECONDS,\n"
        "      SHIPBOT_LOG_FORMAT (text|json), SHIPBOT_ALIVE_FILE (--alive reads only this)\n"
        "needs, for the catalog's deployers: GITLAB_URL, GITLAB_TOKEN (gitlab),\n"
        "      ARGOCD_TOKEN, and ARGOCD_URL unless each target gives a server (argocd)"
    ),
    "metrics": (
        "needs REDIS_URL, SHIPBOT_CATALOG\nreads SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json)"
    ),
    "audit": (
        "needs REDIS_URL (not for `verify --file`)\n"
        "reads SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json)"
    ),
    "console": (
        "reads REDIS_URL (an in-process Redis when unset), SHIPBOT_CATALOG (unless --catalog),\n"
        "      SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json), and for the catalog's\n"
        "      deployers GITLAB_URL, GITLAB_TOKEN, ARGOCD_URL, ARGOCD_TOKEN"
    ),
}


def command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    environment = ENVIRONMENT.get(name)
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"environment:\n{indent(environment)}\nsee the README's Environment table"
        if environment
        else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())

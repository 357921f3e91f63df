"""The CLI's help: each command's parser with what it reads from the environment."""

from __future__ import annotations

import argparse

# What each command reads from the environment, as the README's Environment table says.
REDIS = (
    "Redis: REDIS_URL, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER (Sentinel);\n"
    "      REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD, REDIS_DB where they apply"
)
ENVIRONMENT = {
    "serve": (
        "needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, Redis, SHIPBOT_CATALOG\n"
        "reads SLACK_API_URL, SHIPBOT_PORT, SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json),\n"
        "      GITLAB_WEBHOOK_SECRET (without it, /gitlab/webhook is not configured)"
    ),
    "socket": (
        "needs SLACK_BOT_TOKEN, SLACK_APP_TOKEN, Redis, SHIPBOT_CATALOG\n"
        "reads SLACK_API_URL, SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json),\n"
        "      SHIPBOT_ALIVE_FILE (--alive reads only this)"
    ),
    "worker": (
        "needs SLACK_BOT_TOKEN, Redis, SHIPBOT_CATALOG\n"
        "reads SLACK_API_URL, SHIPBOT_KEY_PREFIX, SHIPBOT_LEASE_SECONDS,\n"
        "      SHIPBOT_LOG_FORMAT (text|json), SHIPBOT_ALIVE_FILE (--alive reads only this)\n"
        "needs, for the catalog's deployers: GITLAB_URL, GITLAB_TOKEN (gitlab),\n"
        "      ARGOCD_TOKEN, and ARGOCD_URL unless each target gives a server (argocd)"
    ),
    "metrics": (
        "needs Redis, SHIPBOT_CATALOG\nreads SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json)"
    ),
    "audit": (
        "needs Redis (not for `verify --file`)\n"
        "reads SHIPBOT_KEY_PREFIX, SHIPBOT_LOG_FORMAT (text|json)"
    ),
    "console": (
        "reads Redis (an in-process Redis when unset), SHIPBOT_CATALOG (unless --catalog),\n"
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
        epilog=f"environment:\n{indent(environment)}\n{indent(REDIS)}\n"
        "see the README's Environment table"
        if environment
        else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())

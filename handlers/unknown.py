"""Slash commands shipbot does not have (a typo, or one not built yet): the ones it has."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.domain.services import Services
from handlers.guard import guarded
from handlers.routes import COMMANDS, PLANNED

ANY_COMMAND = re.compile(".*")


def register(app: AsyncApp, services: Services) -> None:
    """Register after every other command: Bolt tries listeners in order."""
    app.command(ANY_COMMAND)(guarded(_unknown, services.notifier))


async def _unknown(ack: Any, body: dict[str, Any]) -> None:
    await ack(response_type="ephemeral", text=unknown_text(str(body.get("command", ""))))


def unknown_text(command: str) -> str:
    existing = ", ".join(f"`{name}`" for name in COMMANDS)
    if command in PLANNED:
        return (
            f"`{command}` ({PLANNED[command]}) is not available yet. "
            f"The commands that exist: {existing}; `/shipbot help` explains them."
        )
    return (
        f"shipbot has no command `{command[:40]}`. "
        f"The commands that exist: {existing}; `/shipbot help` explains them."
    )

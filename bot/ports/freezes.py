"""A one-off freeze asked for in chat (`/shipbot freeze`), as the store keeps it."""

from __future__ import annotations

from dataclasses import dataclass

ALL = "all"  # a chat freeze of every service of an environment


@dataclass(frozen=True)
class ChatFreeze:
    service: str  # a service name, or ALL
    environment: str
    reason: str
    by: str  # who froze it (a Slack user ID)
    since: float  # epoch seconds
    until: float  # epoch seconds; the store forgets it then

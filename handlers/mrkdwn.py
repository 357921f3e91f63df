"""Text shown in Slack mrkdwn exactly as it was written."""

from __future__ import annotations

from bot.scrub import escaped


def plain(text: str) -> str:
    """What someone typed as raw text (a modal's reason, a commit's title, a rule's name),
    shown as written: never a mention, a link or a control character (Slack mrkdwn reserves
    & < >)."""
    return escaped(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

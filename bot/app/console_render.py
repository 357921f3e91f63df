"""Slack messages as a terminal shows them: Block Kit as lines of text, mrkdwn made readable.

Mentions, channels and links are spelled out (`<@U0DEV>` → `@U0DEV`, `<https://x|text>` →
`text (https://x)`) and Slack's three escapes (&lt; &gt; &amp;) turned back into characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from handlers.routes import STOP

MARKUP = re.compile(r"<([^<>\n]+)>")  # Slack escapes a literal < or >, so these are markup
BY_KEY = {STOP: "Ctrl-C"}  # buttons the console presses with a key, not a number


@dataclass(frozen=True)
class ButtonSpec:
    """A button as the message defines it; the console gives it its number."""

    action_id: str
    value: str
    label: str
    block_id: str
    confirm: str  # the confirmation's title, "" when the button has none


@dataclass(frozen=True)
class Shown:
    """What one message looks like in the terminal: its title, its lines and its buttons."""

    title: str
    lines: list[str]
    buttons: list[ButtonSpec] = field(default_factory=list)
    keyed: list[str] = field(default_factory=list)  # e.g. "[Ctrl-C] Stop"


def readable(text: str) -> str:
    """Slack mrkdwn with its mentions, channels and links spelled out and escapes undone."""
    spelled = MARKUP.sub(lambda match: _spelled_out(match.group(1)), text)
    return spelled.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _spelled_out(inside: str) -> str:
    target, _, label = inside.partition("|")
    if target.startswith("@"):  # <@U0DEV>, a user
        return "@" + (label or target[1:])
    if target.startswith("#"):  # <#C123>, a channel
        return "#" + (label or target[1:])
    if target.startswith("!"):  # <!here>, <!subteam^S0CHANGE>, <!date^…|fallback>
        return label or "@" + target[1:].split("^")[-1]
    return f"{label} ({target})" if label and label != target else target


def shown(message: dict[str, Any]) -> Shown:
    """A message's blocks (or, without blocks, its text) as terminal lines and buttons."""
    blocks = message.get("blocks") or []
    lines: list[str] = []
    for block in blocks:
        lines += _block_lines(block)
    if not blocks:
        lines = [message.get("text", "")]
    lines = [line for text in lines for line in readable(text).splitlines()]
    buttons = [b for block in blocks if block.get("type") == "actions" for b in _buttons(block)]
    keyed = [
        f"[{BY_KEY[e.get('action_id', '')]}] {e['text']['text']}"
        for block in blocks
        if block.get("type") == "actions"
        for e in block["elements"]
        if e.get("action_id") in BY_KEY
    ]
    titles = [b["text"]["text"] for b in blocks if b.get("type") == "header"]
    return Shown(titles[0] if titles else (lines or [""])[0][:60], lines, buttons, keyed)


def _block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [f"** {block['text']['text']} **"]
    if kind == "section":
        texts = [block["text"]["text"]] if block.get("text") else []
        return texts + [f["text"].replace("\n", ": ", 1) for f in block.get("fields", [])]
    if kind == "context":
        return [" ".join(e.get("text", "") for e in block.get("elements", []))]
    return []


def _buttons(block: dict[str, Any]) -> list[ButtonSpec]:
    return [
        ButtonSpec(
            action_id=element["action_id"],
            value=element.get("value", ""),
            label=element["text"]["text"],
            block_id=block.get("block_id", ""),
            confirm=(element.get("confirm") or {}).get("title", {}).get("text", ""),
        )
        for element in block["elements"]
        if element.get("type") == "button" and element.get("action_id") not in BY_KEY
    ]

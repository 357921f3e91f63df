"""The console's stand-in for Slack's Web API: messages become readable text with numbered buttons.

It answers the same Web API methods shipbot calls (auth.test, chat.postMessage, chat.update,
chat.postEphemeral, usergroups.users.list) so the console runs the very same handlers.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass
from typing import Any, TextIO

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from handlers.routes import STOP

UNPRESSABLE = {STOP}  # the console runs a deploy to its end before it reads the next line


@dataclass
class Button:
    number: int
    channel: str
    ts: str
    action_id: str
    value: str
    label: str
    block_id: str
    confirm: str


class ConsoleSlack(AsyncWebClient):
    def __init__(self, out: TextIO) -> None:
        super().__init__(token=None)
        self.out = out
        self.buttons: dict[int, Button] = {}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._numbers = itertools.count(1)

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:  # type: ignore[override]
        args = {
            **(kwargs.get("params") or {}),
            **(kwargs.get("data") or {}),
            **(kwargs.get("json") or {}),
        }
        handler = getattr(self, "_" + api_method.replace(".", "_"), None)
        data = handler(args) if handler else {"ok": False, "error": "unknown_method"}
        return AsyncSlackResponse(
            client=self,
            http_verb="POST",
            api_url=api_method,
            req_args=args,
            data=data,
            headers={},
            status_code=200,
        ).validate()

    def show_ephemeral(self, text: str) -> None:
        self.out.write(_indent(f"(only you can see this) {text}") + "\n")

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": "U0SHIPBOT", "bot_id": "B0SHIPBOT", "team_id": "T0CONSOLE"}

    def _usergroups_users_list(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "users": []}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.out.write(
            _indent(f"(only <@{args['user']}> can see this) {args.get('text', '')}") + "\n"
        )
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        ts, channel = self._next_ts(), args["channel"]
        where = f"#{channel}" + (" (thread)" if args.get("thread_ts") else "")
        self.messages[(channel, ts)] = args
        self._print(where, channel, ts, args)
        return {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args["channel"], args["ts"])
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] = args
        self._print(f"#{key[0]} (updated)", *key, args)
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _print(self, where: str, channel: str, ts: str, message: dict[str, Any]) -> None:
        self._forget_buttons(channel, ts)
        lines = [f"── {where} ──"]
        for block in message.get("blocks") or []:
            lines += self._block_lines(block, channel, ts)
        if not message.get("blocks"):
            lines.append(message.get("text", ""))
        self.out.write(_indent("\n".join(lines)) + "\n")

    def _block_lines(self, block: dict[str, Any], channel: str, ts: str) -> list[str]:
        kind = block.get("type")
        if kind == "header":
            return [f"** {block['text']['text']} **"]
        if kind == "section":
            texts = [block["text"]["text"]] if block.get("text") else []
            return texts + [f["text"].replace("\n", ": ", 1) for f in block.get("fields", [])]
        if kind == "context":
            return [" ".join(e.get("text", "") for e in block.get("elements", []))]
        if kind == "actions":
            shown = [e for e in block["elements"] if e.get("action_id") not in UNPRESSABLE]
            return ["  ".join(self._button(e, block, channel, ts) for e in shown)] if shown else []
        return []

    def _button(self, element: dict[str, Any], block: dict[str, Any], channel: str, ts: str) -> str:
        number = next(self._numbers)
        confirm = (element.get("confirm") or {}).get("title", {}).get("text", "")
        self.buttons[number] = Button(
            number,
            channel,
            ts,
            element["action_id"],
            element.get("value", ""),
            element["text"]["text"],
            block.get("block_id", ""),
            confirm,
        )
        return f"[{number}] {element['text']['text']}"

    def _forget_buttons(self, channel: str, ts: str) -> None:
        for number in [n for n, b in self.buttons.items() if (b.channel, b.ts) == (channel, ts)]:
            del self.buttons[number]

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"


def _indent(text: str) -> str:
    """Indented, with Slack's &lt; &gt; &amp; escapes turned back into characters."""
    return "\n".join("  " + line for line in html.unescape(text).splitlines())

"""The console's stand-in for Slack's Web API: messages become readable text with numbered buttons.

It answers the same Web API methods shipbot calls (auth.test, chat.postMessage, chat.update,
chat.postEphemeral, usergroups.users.list) so the console runs the very same handlers. A file
shared (a /metrics chart) is written under ``files`` (a temporary directory unless given),
and its path printed where Slack would show it.
A message prints whole when it is posted; when it is updated, only the lines that are new or
different since it last printed, and its buttons if they changed. A button keeps its number
for as long as its message carries it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.app.console_render import ButtonSpec, Shown, readable, shown

Where = tuple[str, str]  # (channel, ts): one message
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Button:
    """A button on screen: its number, the message it is on, and what it does."""

    number: int
    channel: str
    ts: str
    spec: ButtonSpec


class ConsoleSlack(AsyncWebClient):
    def __init__(self, out: TextIO, files: Path | None = None) -> None:
        super().__init__(token=None)
        self.out = out
        self.files = files or Path(tempfile.gettempdir()) / "shipbot-console"
        self.buttons: dict[int, Button] = {}
        self.views: list[dict[str, Any]] = []  # modals opened, for the console to fill in
        self.messages: dict[Where, dict[str, Any]] = {}
        self._shown: dict[Where, Shown] = {}
        self._ts = itertools.count(1)
        self._numbers = itertools.count(1)

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
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

    async def files_upload_v2(self, **kwargs: Any) -> AsyncSlackResponse:
        """A shared file, written to ``files``; the console prints where."""
        name = _SAFE_NAME.sub("-", str(kwargs.get("filename") or "file"))
        path = self.files / f"{next(self._ts):06d}-{name}"
        content = kwargs.get("content") or b""
        await asyncio.to_thread(
            _written, path, content.encode() if isinstance(content, str) else content
        )
        where = f"#{kwargs.get('channel')}" + (" (thread)" if kwargs.get("thread_ts") else "")
        title = kwargs.get("title") or name
        self._write([f"── {where} ──", f"{title}: written to {path}"])
        return await self.api_call("files.completeUploadExternal", json={"file": str(path)})

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "files": [{"id": "F0CONSOLE", "title": args.get("file", "")}]}

    def show_ephemeral(self, text: str) -> None:
        self._write([readable(f"(only you can see this) {text}")])

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view = {**args["view"], "id": f"VCONSOLE{len(self.views) + 1}"}
        self.views.append(view)
        return {"ok": True, "view": view}

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": "U0SHIPBOT", "bot_id": "B0SHIPBOT", "team_id": "T0CONSOLE"}

    def _usergroups_users_list(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "users": []}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._write([readable(f"(only <@{args['user']}> can see this) {args.get('text', '')}")])
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        ts, channel = self._next_ts(), args["channel"]
        where = f"#{channel}" + (" (thread)" if args.get("thread_ts") else "")
        self.messages[(channel, ts)] = args
        now = self._shown[(channel, ts)] = shown(args)
        self._write([f"── {where} ──", *now.lines, *self._button_lines((channel, ts), now)])
        return {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args["channel"], args["ts"])
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] = args
        before, now = self._shown[key], shown(args)
        self._shown[key] = now
        changed = [line for line in now.lines if line not in before.lines]
        buttons = self._button_lines(key, now) if _buttons_of(before) != _buttons_of(now) else []
        if changed or buttons:
            self._write([f"── #{key[0]}, updated: {now.title} ──", *changed, *buttons])
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _button_lines(self, where: Where, now: Shown) -> list[str]:
        """Number the message's buttons, keeping the numbers of those it already had."""
        had = {b.spec: b.number for b in self.buttons.values() if (b.channel, b.ts) == where}
        for number in had.values():
            del self.buttons[number]
        labels = []
        for spec in now.buttons:
            number = had.get(spec) or next(self._numbers)
            self.buttons[number] = Button(number, *where, spec)
            labels.append(f"[{number}] {spec.label}")
        if not labels and not now.keyed:
            return ["(no buttons now)"] if had else []
        return ["  ".join(labels + now.keyed)]

    def _write(self, lines: list[str]) -> None:
        """Print lines already made readable, indented under the prompt."""
        text = "\n".join(lines)
        self.out.write("\n".join("  " + line for line in text.splitlines()) + "\n")
        self.out.flush()  # a deploy prints as it goes, also into a pipe

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"


def _written(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _buttons_of(message: Shown) -> tuple[list[ButtonSpec], list[str]]:
    return message.buttons, message.keyed

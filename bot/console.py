"""`shipbot console`: the same handlers and domain, a terminal instead of Slack.

Type slash commands as in Slack, press buttons by number, and switch who you are with
`as U0ALICE`, so one person can play the requester and the approvers. State lives in an
in-process Redis (fakeredis) unless REDIS_URL is set; deploys run in this process.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import TextIO
from urllib.parse import urlencode

from fakeredis import aioredis as fake_aioredis
from redis import asyncio as aioredis
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.catalog import Catalog
from bot.config import Settings
from bot.console_slack import Button, ConsoleSlack
from bot.deploys import run_request
from bot.queue import ANNOUNCE, RUN_DEPLOY, InlineQueue
from bot.store import connect
from bot.wiring import build_services
from handlers.app import build_app
from handlers.background import Background

CHANNEL = "C0CONSOLE"
WELCOME = """shipbot console — the bot as Slack would run it, in your terminal.
  /deploy web-h5 v1.4.0 to staging      slash commands work as in Slack
  1, 2, ...                              press the button with that number
  as U0ALICE                             become someone else (you are {user})
  help | quit"""


class Console:
    def __init__(
        self, app: AsyncApp, slack: ConsoleSlack, queue: InlineQueue, later: Background, user: str
    ) -> None:
        self.app, self.slack, self.queue, self.later = app, slack, queue, later
        self.user = user
        self._triggers = 0

    async def handle(self, line: str, ask: TextIO | None = None) -> bool:
        """Act on one input line; False when the operator wants to leave."""
        line = line.strip()
        if line in ("quit", "exit"):
            return False
        if line.startswith("/"):
            await self._command(*[*line.split(maxsplit=1), ""][:2])
        elif line.isdigit():
            await self._press(int(line), ask)
        elif line.startswith("as "):
            self.user = line[3:].strip() or self.user
            self._say(f"you are now {self.user}")
        elif line:
            self._say(WELCOME.format(user=self.user))
        return True

    async def _command(self, command: str, text: str) -> None:
        form = {
            "command": command,
            "text": text,
            "user_id": self.user,
            "user_name": self.user,
            "channel_id": CHANNEL,
            "channel_name": "console",
            "team_id": "T0CONSOLE",
            "trigger_id": self._trigger(),
            "response_url": "",
            "api_app_id": "A0CONSOLE",
        }
        await self._dispatch(urlencode(form))

    async def _press(self, number: int, ask: TextIO | None) -> None:
        button = self.slack.buttons.get(number)
        if button is None:
            self._say(f"there is no button [{number}] on screen")
            return
        if button.confirm and not self._confirmed(button, ask):
            self._say("not pressed")
            return
        await self._dispatch(urlencode({"payload": json.dumps(self._payload(button))}))

    def _payload(self, button: Button) -> dict[str, object]:
        return {
            "type": "block_actions",
            "user": {"id": self.user, "username": self.user},
            "api_app_id": "A0CONSOLE",
            "team": {"id": "T0CONSOLE"},
            "channel": {"id": button.channel, "name": "console"},
            "trigger_id": self._trigger(),
            "container": {"type": "message", "message_ts": button.ts, "channel_id": button.channel},
            "message": {"ts": button.ts},
            "response_url": "",
            "actions": [
                {
                    "type": "button",
                    "action_id": button.action_id,
                    "block_id": button.block_id,
                    "value": button.value,
                    "text": {"type": "plain_text", "text": button.label},
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    async def _dispatch(self, body: str) -> None:
        headers: dict[str, str | Sequence[str]] = {
            "content-type": "application/x-www-form-urlencoded"
        }
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        if response.body:
            self.slack.show_ephemeral(_text_of(response.body))
        await self.later.drain()
        await self.queue.drain()
        await self.later.drain()

    def _confirmed(self, button: Button, ask: TextIO | None) -> bool:
        self._say(f"{button.confirm} [y/N]")
        answer = ask.readline() if ask else ""
        return answer.strip().lower() in ("y", "yes")

    def _trigger(self) -> str:
        self._triggers += 1
        return f"console.{time.time_ns()}.{self._triggers}"

    def _say(self, text: str) -> None:
        self.slack.out.write(f"» {text}\n")


def _text_of(body: str) -> str:
    try:
        return str(json.loads(body).get("text", body))
    except (ValueError, AttributeError):
        return body


def build_console(settings: Settings, catalog: Catalog, user: str, out: TextIO) -> Console:
    if settings.redis_url:  # a real Redis: keep the demo's requests out of production lanes
        prefix = f"{settings.shipbot_key_prefix}-console"
        settings = settings.model_copy(update={"shipbot_key_prefix": prefix})
        out.write(f"» using the Redis at REDIS_URL, under the key prefix {prefix!r}\n")
    redis: aioredis.Redis = (
        connect(settings.redis_url)
        if settings.redis_url
        else fake_aioredis.FakeRedis(decode_responses=True)
    )
    slack, queue, later = ConsoleSlack(out), InlineQueue(), Background()
    services = build_services(settings, catalog, redis, queue, slack)
    queue.jobs[RUN_DEPLOY] = lambda request_id: run_request(services, request_id, "console")
    queue.jobs[ANNOUNCE] = services.notifier.show
    app = build_app(services, slack, "", console=True, later=later)
    return Console(app, slack, queue, later, user)


async def run_console(
    settings: Settings, catalog: Catalog, user: str, stdin: TextIO, out: TextIO
) -> int:
    console = build_console(settings, catalog, user, out)
    out.write(WELCOME.format(user=user) + "\n")
    while True:
        out.write(f"{console.user}> ")
        out.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line or not await console.handle(line, stdin):
            return 0

"""`shipbot console`: the same handlers and domain, a terminal instead of Slack.

Type slash commands as in Slack, press buttons by number, and switch who you are with
`as U0ALICE`, so one person can play the requester and the approvers. State lives in an
in-process Redis (fakeredis) unless REDIS_URL (or REDIS_SENTINELS) is set; deploys run in
this process, and Ctrl-C during one asks it to stop, as the Stop button does (see
bot/app/console_session.py).
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

from redis import asyncio as aioredis
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot import logcontext
from bot.app import metrics_jobs
from bot.app.console_redis import IN_MEMORY, console_settings, state_note, state_redis
from bot.app.console_render import readable
from bot.app.console_session import Lines, Session
from bot.app.console_slack import Button, ConsoleSlack
from bot.app.wiring import build_services
from bot.catalog.model import Catalog
from bot.catalog.settings import Settings
from bot.domain import approvals, commits
from bot.domain.deploys import run_request
from bot.domain.services import Services
from bot.models import State
from bot.ports.notify import MetricsJob
from bot.store.connection import RedisTarget
from bot.store.queue import ANNOUNCE, POST_METRICS, RUN_DEPLOY, InlineQueue
from bot.store.requests import StoreUnavailable
from handlers.app import build_slack_app
from handlers.background import Background

CHANNEL = "C0CONSOLE"
USER_ID = re.compile(r"[UW][A-Z0-9]+")  # Slack's user IDs: U0ALICE, W0123ABC
HINT = 'type a /command, a button number, "as U0ALICE", help or quit'
WELCOME = """shipbot console — the bot as Slack would run it, in your terminal.
  /deploy web-h5 v1.4.0 to staging      slash commands work as in Slack
  1, 2, ...                              press the button with that number
  as U0ALICE                             become someone else (you are {user})
  Ctrl-C                                 stop the running deploy (like Stop); else quit
  help | quit
{state}"""

Ask = Callable[[], Awaitable[str | None]]  # the next line typed, None at the end of input


async def _no_answer() -> str | None:
    return None


class Console:
    def __init__(
        self,
        app: AsyncApp,
        slack: ConsoleSlack,
        services: Services,
        queue: InlineQueue,
        later: Background,
        user: str,
        state_note: str = IN_MEMORY,
    ) -> None:
        self.app, self.slack, self.services = app, slack, services
        self.queue, self.later = queue, later
        self.user, self.state_note = user, state_note
        self.running: str | None = None  # the request whose deploy runs now
        self.stop_asked = False  # Ctrl-C asked the running deploy to stop
        self._triggers = 0

    async def handle(self, line: str, ask: Ask = _no_answer) -> bool:
        """Act on one input line; False when the operator wants to leave."""
        line = line.strip()
        if line in ("quit", "exit"):
            return False
        if line.startswith("/"):
            await self._command(*[*line.split(maxsplit=1), ""][:2])
        elif line.isdigit():
            await self._press(int(line), ask)
        elif line == "as" or line.startswith("as "):
            self._become(line[2:].strip())
        elif line == "help":
            self._say(banner(self.user, self.state_note))
        elif line:
            self._say(HINT)
        return True

    async def run_deploy(self, request_id: str) -> None:
        """The queue's deploy job: run the request, knowing which one runs for Ctrl-C."""
        self.running, self.stop_asked = request_id, False
        try:
            with logcontext.scope(request_id=request_id):
                await run_request(self.services, request_id, "console")
        finally:
            self.running = None
        if self.stop_asked:
            request = await self.services.store.get(request_id)
            state = request.state if request else "gone"
            if state is State.SUCCEEDED:
                self._say(f"`{request_id}` finished before it could be stopped.")
            else:
                self._say(f"`{request_id}` was stopped and has ended ({state}); see its card.")

    async def post_metrics(self, *job: str) -> None:
        """The queue's /metrics job (a MetricsJob's args): the card as text, the chart to a file
        whose path prints."""
        await metrics_jobs.post_asked(self.services, MetricsJob(*job))

    async def stop_running(self) -> None:
        """Ask the running deploy to stop, as the Stop button would: as the current user when
        they may, else as its requester (who always may)."""
        request_id, self.stop_asked = self.running, True
        if request_id is None:
            return
        try:
            said = await self._stop_as_someone(request_id)
        except StoreUnavailable:
            said = "Redis is unavailable, so the deploy could not be asked to stop."
        self._say(f"Ctrl-C: {said} Ctrl-C again quits at once.")

    async def _stop_as_someone(self, request_id: str) -> str:
        store = self.services.store
        outcome = await approvals.stop(self.services, request_id, self.user)
        request = await store.get(request_id)
        if request and request.state is State.RUNNING and not await store.stopped_by(request_id):
            self._say(f"{self.user} may not stop `{request_id}`; asking as its requester.")
            outcome = await approvals.stop(self.services, request_id, request.requester)
        return outcome.say or "asked it to stop."

    def _become(self, who: str) -> None:
        if not USER_ID.fullmatch(who):
            self._say(
                f"{who or 'nobody'!r} is not a Slack user ID (U or W, then capital letters "
                f"and digits, e.g. U0ALICE); you are still {self.user}"
            )
            return
        self.user = who
        self._say(f"you are now {self.user}")

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

    async def _press(self, number: int, ask: Ask) -> None:
        button = self.slack.buttons.get(number)
        if button is None:
            self._say(f"there is no button [{number}] on screen")
            return
        if button.spec.confirm and not await self._confirmed(button, ask):
            self._say("not pressed")
            return
        await self._dispatch(urlencode({"payload": json.dumps(self._payload(button))}))
        while self.slack.views:
            await self._fill(self.slack.views.pop(0), ask)

    async def _fill(self, view: dict[str, Any], ask: Ask) -> None:
        """A modal asking for one line of text (Reject's reason): asked here, then submitted
        as Slack would; nothing typed closes it."""
        block = next(b for b in view.get("blocks", []) if b.get("type") == "input")
        self._say(f"{view['title']['text']}: {block['label']['text']} (Enter alone: close it)")
        typed = ((await ask()) or "").strip()
        if not typed:
            self._say("closed; nothing done")
            return
        value = {"type": "plain_text_input", "value": typed}
        payload = {
            "type": "view_submission",
            "user": {"id": self.user, "username": self.user},
            "team": {"id": "T0CONSOLE"},
            "api_app_id": "A0CONSOLE",
            "trigger_id": self._trigger(),
            "view": {**view, "state": {"values": {block["block_id"]: {
                block["element"]["action_id"]: value}}}},
        }  # fmt: skip
        await self._dispatch(urlencode({"payload": json.dumps(payload)}))

    def _payload(self, button: Button) -> dict[str, object]:
        spec = button.spec
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
                    "action_id": spec.action_id,
                    "block_id": spec.block_id,
                    "value": spec.value,
                    "text": {"type": "plain_text", "text": spec.label},
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    async def _dispatch(self, body: str) -> None:
        headers: dict[str, str | Sequence[str]] = {
            "content-type": "application/x-www-form-urlencoded"
        }
        with contextlib.suppress(StoreUnavailable):  # the console runs its jobs itself
            await self.services.store.heartbeat("console")
        response = await self.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
        if response.body:
            self.slack.show_ephemeral(_text_of(response.body))
        await self.later.drain()
        await self.queue.drain()
        await self.later.drain()
        with contextlib.suppress(StoreUnavailable):  # no worker here: the console chains
            await self.services.store.chain_audit()

    async def _confirmed(self, button: Button, ask: Ask) -> bool:
        self._say(f"{button.spec.confirm} [y/N]")
        answer = await ask()
        return (answer or "").strip().lower() in ("y", "yes")

    def _trigger(self) -> str:
        self._triggers += 1
        return f"console.{time.time_ns()}.{self._triggers}"

    def _say(self, text: str) -> None:
        self.slack.out.write(f"» {readable(text)}\n")
        self.slack.out.flush()


async def run_console(
    settings: Settings, catalog: Catalog, user: str, stdin: TextIO, out: TextIO
) -> int:
    """The console on a terminal until quit, the end of input or Ctrl-C; the exit code."""
    target = RedisTarget.of(settings)
    clients = [target.client()] if settings.redis_configured else []
    console = build_console(settings, catalog, user, out, redis=next(iter(clients), None))
    out.write(banner(user, console.state_note) + "\n")
    async with target.watch(*clients):  # through Sentinel: leave a demoted master at once
        return await Session(console, Lines(stdin)).run()


def banner(user: str, state_note: str) -> str:
    return WELCOME.format(user=user, state=state_note)


def build_console(
    settings: Settings,
    catalog: Catalog,
    user: str,
    out: TextIO,
    charts: Path | None = None,
    redis: aioredis.Redis | None = None,
) -> Console:
    """The console; the /metrics charts are written under ``charts`` (default: a directory
    ``shipbot-console`` in the system's temporary directory); its state in ``redis`` (default:
    the configured Redis, else an in-process one)."""
    settings = console_settings(settings)
    redis = state_redis(settings) if redis is None else redis
    slack, queue, later = ConsoleSlack(out, charts), InlineQueue(), Background()
    services = build_services(settings, catalog, redis, queue, slack)
    app = build_slack_app(services, slack, "", console=True, later=later).bolt
    console = Console(app, slack, services, queue, later, user, state_note(settings))
    queue.jobs[RUN_DEPLOY] = console.run_deploy
    queue.jobs[ANNOUNCE] = functools.partial(commits.announce, services)
    queue.jobs[POST_METRICS] = console.post_metrics
    return console


def _text_of(body: str) -> str:
    """What an ack says: its text, or a modal's errors."""
    try:
        answer = json.loads(body)
        return str(answer.get("text") or " ".join(answer.get("errors", {}).values()) or body)
    except (ValueError, AttributeError):
        return body

"""FakeSlack: a local HTTP server standing in for the Slack Web API and Socket Mode.

It answers the few methods shipbot calls the way Slack documents them
(https://docs.slack.dev/reference/methods), records every call, and keeps the
current state of each posted message so tests can assert on what users would see.
Point shipbot at it with ``SLACK_API_URL=fake.base_url``.

Files (https://docs.slack.dev/messaging/working-with-files#upload), in Slack's three steps:
``files.getUploadURLExternal`` (filename, length) answers an ``upload_url`` on this server and a
``file_id``; a POST of the bytes (raw, or a multipart form) to that URL answers HTTP 200
"OK - <length>"; ``files.completeUploadExternal`` (files=[{id, title}], channel_id,
initial_comment or thread_ts) shares them and answers ``files``. ``slack.uploads()`` holds
what was shared, bytes included.

Modals (https://docs.slack.dev/reference/methods/views.open): ``views.open`` takes a ``view``
(a JSON object, or a JSON-encoded string in a form post) and exactly one of ``trigger_id`` or
``interactivity_pointer``; a trigger is exchanged once (again: ``exchanged_trigger_id``); a view
that is not a modal with a title and at most 100 blocks is ``invalid_arguments``. It answers the
opened view as Slack does (id, team_id, state.values, hash, ...); ``slack.views()`` holds them.

Socket Mode (https://docs.slack.dev/apis/events-api/using-socket-mode): with the app-level
token, ``apps.connections.open`` hands out a ``ws://`` URL on this server; ``slack.socket``
then sends envelopes down that WebSocket and records the app's acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .http_server import BackgroundServer, poll

DEFAULT_BOT_TOKEN = "xoxb-test-token"
DEFAULT_APP_TOKEN = "xapp-test-token"
APP_ID = "A0SHIPBOT"  # the api_app_id that signing.py's payloads carry
TEAM_ID = "T0FAKE"
BOT_USER_ID = "U0SHIPBOT"
BOT_ID = "B0SHIPBOT"

_FIRST_TS_MICROS = 1_700_000_000_000_000
_TS_STEP_MICROS = 100
# Form-encoded posts carry these arguments as JSON strings; JSON posts carry them as objects.
_JSON_ARGS = frozenset({"blocks", "attachments", "metadata", "view"})
# Methods called with the app-level token (xapp-...) instead of the bot token.
_APP_LEVEL_METHODS = frozenset({"apps.connections.open"})
# Interactive payloads whose ack may carry a response (the rest are acked empty).
_ANSWERABLE_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})
_LINK_HOST = "applink-fake-1"

T = TypeVar("T")


@dataclass(frozen=True)
class Call:
    """One request the fake received: Web API method (or "response_url"), arguments, token."""

    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic, compare=False)  # when it arrived


@dataclass
class Message:
    """A posted message as it currently reads, with every chat.update applied."""

    channel: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None = None


@dataclass
class Upload:
    """A file through the three steps: asked for, its bytes posted, and shared (or not yet)."""

    file_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    content: bytes | None = None  # None until the bytes are posted to the upload URL
    title: str | None = None
    channel: str | None = None  # where completeUploadExternal shared it; None: private
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False


@dataclass(frozen=True)
class Ack:
    """The app's answer to one Socket Mode envelope; payload only where it sent one."""

    envelope_id: str
    payload: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic, compare=False)  # when it arrived


@dataclass(frozen=True)
class _Link:
    """One open Socket Mode WebSocket and the server loop that owns it."""

    websocket: WebSocket
    loop: asyncio.AbstractEventLoop


class FakeSlack:
    """The Slack Web API on localhost: ``with FakeSlack() as slack: ... slack.base_url``."""

    def __init__(self, token: str = DEFAULT_BOT_TOKEN, app_token: str = DEFAULT_APP_TOKEN) -> None:
        self.token = token
        self.app_token = app_token
        self.usergroups: dict[str, list[str]] = {}
        self.socket = SocketMode()
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._asgi_app())
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "apps.connections.open": self._connections_open,
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "usergroups.users.list": self._usergroup_users,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "views.open": self._views_open,
        }
        self.reset()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The Web API base URL, ending in "/api/" like https://slack.com/api/."""
        return f"{self._server.url}/api/"

    def response_url(self, name: str) -> str:
        """A response_url whose posts are recorded as Call(method="response_url")."""
        return f"{self._server.url}/response/{name}"

    # -- configuration ---------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all calls, messages, user groups, pending rate limits and Socket Mode acks.

        Open Socket Mode connections stay open, as a running app's would.
        """
        self.socket.reset()
        with self._lock:
            self.usergroups.clear()
            self.closed_channels: set[str] = set()  # the bot is not in these: not_in_channel
            self._calls: list[Call] = []
            self._messages: dict[tuple[str, str], Message] = {}
            self._uploads: dict[str, Upload] = {}  # by file_id, in the order asked for
            self._upload_tickets: dict[str, str] = {}  # upload URL ticket -> file_id
            self._views: list[dict[str, Any]] = []  # views opened, as views.open answered them
            self._triggers: set[str] = set()  # trigger_ids exchanged for a view
            self._ts_count = 0
            self._rate_limited = 0
            self.usergroups_held = False  # while True, usergroups.users.list waits to answer
            # ("asked" | "answered", group) of each usergroups.users.list, in the order it happened
            self.usergroup_events: list[tuple[str, str]] = []
            self._retry_after = 1

    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        """Answer the next n Web API calls with HTTP 429, Retry-After and error "ratelimited"."""
        with self._lock:
            self._rate_limited = n
            self._retry_after = retry_after

    # -- assertions ------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Every answered call (rate-limited ones excluded), oldest first."""
        with self._lock:
            return [c for c in self._calls if method in (None, c.method)]

    def usergroups_outstanding(self) -> int:
        """usergroups.users.list calls asked and not answered yet."""
        with self._lock:
            kinds = [kind for kind, _ in self.usergroup_events]
        return kinds.count("asked") - kinds.count("answered")

    def usergroups_answered(self) -> int:
        with self._lock:
            return sum(1 for kind, _ in self.usergroup_events if kind == "answered")

    def views(self) -> list[dict[str, Any]]:
        """Views opened with views.open, oldest first, as Slack answered them."""
        with self._lock:
            return [dict(v) for v in self._views]

    def messages(self, channel: str | None = None) -> list[Message]:
        """Posted messages in post order, as they read now."""
        with self._lock:
            found = [m for m in self._messages.values() if channel in (None, m.channel)]
            return [Message(**vars(m)) for m in found]

    def uploads(self, channel: str | None = None) -> list[Upload]:
        """Files shared by files.completeUploadExternal (in ``channel``), oldest first."""
        with self._lock:
            found = [u for u in self._uploads.values() if u.completed]
            return [Upload(**vars(u)) for u in found if channel in (None, u.channel)]

    def updates_of(self, channel: str, ts: str) -> list[Call]:
        """The chat.update calls that targeted one message."""
        return [
            c
            for c in self.calls("chat.update")
            if c.args.get("channel") == channel and c.args.get("ts") == ts
        ]

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Poll predicate until it returns something truthy, and return that (blocking)."""
        return poll(predicate, timeout, lambda: AssertionError(self._timeout_report(timeout)))

    def _timeout_report(self, timeout: float) -> str:
        lines = [f"condition not met within {timeout}s; FakeSlack received:"]
        lines += [f"  {c.method} {json.dumps(c.args, default=str)[:300]}" for c in self.calls()]
        return "\n".join(lines if len(lines) > 1 else [*lines, "  (no calls)"])

    # -- HTTP ------------------------------------------------------------------------------

    def _asgi_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._web_api, methods=["GET", "POST"]),
                Route("/response/{name}", self._response_url_post, methods=["POST"]),
                Route("/upload/v1/{ticket}", self._upload_post, methods=["POST"]),
                WebSocketRoute("/link/", self.socket.serve),
            ]
        )

    async def _web_api(self, request: Request) -> Response:
        args = await _read_args(request)
        body_token = args.pop("token", None)  # legacy: token as an argument, not a header
        token = _bearer_token(request) or body_token
        if retry_after := self._take_rate_limit():
            headers = {"Retry-After": str(retry_after)}
            return JSONResponse(_error("ratelimited"), status_code=429, headers=headers)
        call = Call(request.path_params["method"], args, token)
        if call.method == "usergroups.users.list":
            await self._usergroups_answer_later(str(args.get("usergroup", "")))
        with self._lock:
            self._calls.append(call)
            return JSONResponse(self._answer(call))

    async def _response_url_post(self, request: Request) -> Response:
        args = json.loads(await request.body() or b"{}")
        with self._lock:
            self._calls.append(Call("response_url", args, None))
        # Slack answers a good response_url post with HTTP 200 and the plain body "ok"
        # (slack_sdk's WebhookClient docs: `response.body == "ok"`); some newer Slack
        # clients also accept '{"ok":true}', so shipbot should rely on the status only.
        return PlainTextResponse("ok", media_type="text/html")

    async def _upload_post(self, request: Request) -> Response:
        """Step 2: the file's bytes, raw or as a multipart form's one file; 200 "OK - <n>"."""
        content = await _upload_content(request)
        with self._lock:
            self._calls.append(Call("upload", {"bytes": len(content)}, None))
            file_id = self._upload_tickets.pop(request.path_params["ticket"], None)
            upload = self._uploads.get(file_id or "")
            if upload is None:
                return PlainTextResponse("Not Found", status_code=404)
            if len(content) != upload.length:  # the fake's own check: what was announced
                return PlainTextResponse(f"length {len(content)} != {upload.length}", 400)
            upload.content = content
        return PlainTextResponse(f"OK - {len(content)}")

    async def _usergroups_answer_later(self, group: str) -> None:
        """Record the lookup as asked; answer once not held (Slack being slow)."""
        with self._lock:
            self.usergroup_events.append(("asked", group))
        while self.usergroups_held:
            await asyncio.sleep(0.01)

    def _take_rate_limit(self) -> int:
        with self._lock:
            if self._rate_limited <= 0:
                return 0
            self._rate_limited -= 1
            return self._retry_after

    # -- Web API methods (called with the lock held) ---------------------------------------

    def _answer(self, call: Call) -> dict[str, Any]:
        handler = self._methods.get(call.method)
        if handler is None:
            return _error("unknown_method")
        if problem := self._token_problem(call):
            return _error(problem)
        return handler(call.args)

    def _token_problem(self, call: Call) -> str | None:
        expected, other = self.token, self.app_token
        if call.method in _APP_LEVEL_METHODS:
            expected, other = other, expected
        if not call.token:
            return "not_authed"  # Slack: "No authentication token provided."
        if call.token == other:
            return "not_allowed_token_type"  # a bot token where an app token belongs, or back
        return None if call.token == expected else "invalid_auth"

    def _connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ws_base = "ws" + self._server.url.removeprefix("http")
        return {"ok": True, "url": self.socket.new_url(ws_base)}

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "shipbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return _error("channel_not_found")
        if args["channel"] in self.closed_channels:
            return _error("not_in_channel")
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return _error("no_text")
        channel, ts = args["channel"], self._next_ts()
        message = Message(channel, ts, args.get("text"), args.get("blocks"), args.get("thread_ts"))
        self._messages[(message.channel, message.ts)] = message
        return {
            "ok": True,
            "channel": message.channel,
            "ts": message.ts,
            "message": _shown(message),
        }

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._messages.get((args.get("channel", ""), args.get("ts", "")))
        if message is None:
            return _error("message_not_found")
        # chat.update keeps the previous text/blocks when the argument is absent.
        message.text = args.get("text", message.text)
        message.blocks = args.get("blocks", message.blocks)
        answer = {"ok": True, "channel": message.channel, "ts": message.ts}
        return {**answer, "text": message.text, "message": _shown(message)}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return _error("channel_not_found")
        if not args.get("user"):
            return _error("user_not_in_channel")
        return {"ok": True, "message_ts": self._next_ts()}

    def _usergroup_users(self, args: dict[str, Any]) -> dict[str, Any]:
        self.usergroup_events.append(("answered", str(args.get("usergroup", ""))))
        users = self.usergroups.get(args.get("usergroup", ""))
        if users is None:
            return _error("no_such_subteam")
        return {"ok": True, "users": list(users)}

    def _get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        """Step 1: filename and length (bytes) required; an upload URL and a file id."""
        filename, length = args.get("filename"), str(args.get("length", ""))
        if not filename or not length.isdigit():
            return _error("invalid_arguments")
        file_id, ticket = f"F{secrets.token_hex(5).upper()}", secrets.token_urlsafe(12)
        self._uploads[file_id] = Upload(file_id, filename, int(length), args.get("alt_txt"))
        self._upload_tickets[ticket] = file_id
        return {
            "ok": True,
            "upload_url": f"{self._server.url}/upload/v1/{ticket}",
            "file_id": file_id,
        }

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        """Step 3: files=[{id, title}] (a JSON string in a form post), shared in channel_id
        (a thread_ts makes it a reply); once per file."""
        files = args.get("files")
        if isinstance(files, str):
            with contextlib.suppress(json.JSONDecodeError):
                files = json.loads(files)
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
            return _error("invalid_arguments")
        uploads = [self._uploads.get(str(f.get("id"))) for f in files]
        if any(u is None or u.completed or u.content is None for u in uploads):
            return _error("file_not_found")
        channel = args.get("channel_id") or None
        if channel in self.closed_channels:
            return _error("not_in_channel")
        shared = []
        for upload, asked in zip(uploads, files, strict=True):
            assert upload is not None
            upload.title = asked.get("title") or upload.filename
            upload.channel, upload.thread_ts = channel, args.get("thread_ts") or None
            upload.initial_comment, upload.completed = args.get("initial_comment"), True
            shared.append({"id": upload.file_id, "title": upload.title, "name": upload.filename})
        return {"ok": True, "files": shared}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        view, trigger = args.get("view"), args.get("trigger_id")
        if isinstance(view, str):
            with contextlib.suppress(json.JSONDecodeError):
                view = json.loads(view)
        if (trigger is None) == (args.get("interactivity_pointer") is None):
            return _error("invalid_arguments")
        if not _modal(view):
            return _error("invalid_arguments")
        if trigger in self._triggers:
            return _error("exchanged_trigger_id")
        self._triggers.add(trigger or "")
        view_id = f"V{secrets.token_hex(5).upper()}"
        opened = {
            "id": view_id, "team_id": TEAM_ID, "type": "modal",
            "blocks": view.get("blocks", []), "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""), "state": {"values": {}},
            "hash": f"{time.time():.6f}.{secrets.token_hex(4)}", "title": view["title"],
            "clear_on_close": bool(view.get("clear_on_close")),
            "notify_on_close": bool(view.get("notify_on_close")), "close": view.get("close"),
            "submit": view.get("submit"), "previous_view_id": None, "root_view_id": view_id,
            "app_id": APP_ID, "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID, "bot_id": BOT_ID,
        }  # fmt: skip
        self._views.append(opened)
        return {"ok": True, "view": opened}

    def _next_ts(self) -> str:
        self._ts_count += 1
        micros = _FIRST_TS_MICROS + self._ts_count * _TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class SocketMode:
    """Slack's end of Socket Mode links: ``slack.socket.send_slash_command(...)``.

    A link opens with a ticket from apps.connections.open and is greeted with ``hello``.
    Each envelope goes to the newest open link (Slack picks one of the app's links) and
    the app acks it with ``{"envelope_id": ..., "payload": {...}?}``. WebSocket pings are
    answered, and sent every 20 s, by uvicorn, as Slack's servers do.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._links: list[_Link] = []
        self._acks: list[Ack] = []
        self.opened = 0  # links accepted since start; reset() keeps it

    def reset(self) -> None:
        """Forget the acks; open links stay open."""
        with self._lock:
            self._acks.clear()

    # -- what Slack sends ------------------------------------------------------------------

    def send_slash_command(self, payload: Mapping[str, Any], timeout: float = 10.0) -> str:
        """Deliver a slash command (the fields Slack posts, as a dict); returns envelope_id."""
        return self.send_envelope("slash_commands", dict(payload), True, timeout)

    def send_interactive(self, payload: Mapping[str, Any], timeout: float = 10.0) -> str:
        """Deliver an interaction payload such as block_actions; returns envelope_id."""
        answerable = payload.get("type") in _ANSWERABLE_INTERACTIONS
        return self.send_envelope("interactive", dict(payload), answerable, timeout)

    def send_envelope(
        self, kind: str, payload: dict[str, Any], accepts_response: bool, timeout: float = 10.0
    ) -> str:
        """Send one envelope of type kind down the newest link; returns its envelope_id."""
        envelope_id = str(uuid.uuid4())
        self._send(
            {
                "envelope_id": envelope_id,
                "payload": payload,
                "type": kind,
                "accepts_response_payload": accepts_response,
            },
            timeout,
        )
        return envelope_id

    def disconnect(self, reason: str = "refresh_requested", timeout: float = 10.0) -> None:
        """Tell the app to reconnect, as Slack does before it recycles a link."""
        self._send(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": _LINK_HOST}}, timeout
        )

    # -- what the app did ------------------------------------------------------------------

    def connections(self) -> int:
        """How many links are open now."""
        with self._lock:
            return len(self._links)

    def wait_opened(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until at least count links have been accepted since the fake started."""
        failure = AssertionError(f"{count} Socket Mode link(s) not opened within {timeout}s")
        poll(lambda: self.opened >= count, timeout, lambda: failure)

    def acks(self) -> list[Ack]:
        """Every ack received since the last reset, oldest first."""
        with self._lock:
            return list(self._acks)

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> Ack:
        """Wait for the app's ack of one envelope and return it."""

        def failure() -> AssertionError:
            seen = [a.envelope_id for a in self.acks()]
            return AssertionError(f"no ack of {envelope_id} within {timeout}s; acked: {seen}")

        return poll(lambda: self._ack_of(envelope_id), timeout, failure)

    # -- server side -----------------------------------------------------------------------

    def new_url(self, ws_base: str) -> str:
        """A new ticket URL shaped like Slack's wss://.../link/?ticket=...&app_id=..."""
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
        return f"{ws_base}/link/?ticket={ticket}&app_id={APP_ID}"

    async def serve(self, websocket: WebSocket) -> None:
        """The /link/ endpoint: check the ticket, say hello, then record acks until closed."""
        with self._lock:
            known = websocket.query_params.get("ticket") in self._tickets
        if not known:
            await websocket.close(code=1008)  # before accept: the handshake gets HTTP 403
            return
        await websocket.accept()
        link = _Link(websocket, asyncio.get_running_loop())
        with self._lock:
            self._links.append(link)
            self.opened += 1
            hello = _hello(len(self._links))
        try:
            await websocket.send_text(json.dumps(hello))
            while True:
                self._record(await websocket.receive_text())
        except WebSocketDisconnect:
            pass
        finally:
            with self._lock:
                self._links.remove(link)

    def _record(self, text: str) -> None:
        message = json.loads(text)
        if isinstance(message, dict) and "envelope_id" in message:
            with self._lock:
                self._acks.append(Ack(message["envelope_id"], message.get("payload")))

    def _ack_of(self, envelope_id: str) -> Ack | None:
        return next((a for a in self.acks() if a.envelope_id == envelope_id), None)

    def _send(self, message: dict[str, Any], timeout: float) -> None:
        failure = AssertionError(f"no Socket Mode link open within {timeout}s")
        link = poll(self._newest_link, timeout, lambda: failure)
        sent = link.websocket.send_text(json.dumps(message))
        asyncio.run_coroutine_threadsafe(sent, link.loop).result(timeout)

    def _newest_link(self) -> _Link | None:
        with self._lock:
            return self._links[-1] if self._links else None


def _hello(num_connections: int) -> dict[str, Any]:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": _LINK_HOST,
            "build_number": 1,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": APP_ID},
    }


def _shown(message: Message) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "ts": message.ts,
    }
    shown |= {"text": message.text or "", "blocks": message.blocks or []}
    if message.thread_ts:
        shown["thread_ts"] = message.thread_ts
    return shown


def _modal(view: object) -> bool:
    """A modal view Slack would open: type modal, a title, at most 100 blocks."""
    if not isinstance(view, dict) or view.get("type") != "modal" or not view.get("title"):
        return False
    blocks = view.get("blocks", [])
    return isinstance(blocks, list) and len(blocks) <= 100


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


async def _read_args(request: Request) -> dict[str, Any]:
    """Query parameters plus the body, decoded as JSON or as a form like Slack accepts."""
    args: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        args.update(json.loads(body or b"{}"))
    elif body:
        args.update(_decode_form(body))
    return args


async def _upload_content(request: Request) -> bytes:
    """The posted file: the body itself, or the file part of a multipart form."""
    body, kind = await request.body(), request.headers.get("content-type", "")
    if not kind.startswith("multipart/form-data"):
        return body
    form = BytesParser(policy=default).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + body)
    for part in form.iter_parts():
        if part.get_filename():
            return bytes(part.get_payload(decode=True) or b"")
    return b""


def _decode_form(body: bytes) -> dict[str, Any]:
    form: dict[str, Any] = dict(parse_qsl(body.decode(), keep_blank_values=True))
    for name in _JSON_ARGS & form.keys():
        with contextlib.suppress(json.JSONDecodeError):  # else keep the raw string
            form[name] = json.loads(form[name])
    return form


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None

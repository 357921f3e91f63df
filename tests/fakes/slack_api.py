"""FakeSlack: a local HTTP server standing in for the Slack Web API.

It answers the few methods shipbot calls the way Slack documents them
(https://docs.slack.dev/reference/methods), records every call, and keeps the
current state of each posted message so tests can assert on what users would see.
Point shipbot at it with ``SLACK_API_URL=fake.base_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

DEFAULT_BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0FAKE"
BOT_USER_ID = "U0SHIPBOT"
BOT_ID = "B0SHIPBOT"

_FIRST_TS_MICROS = 1_700_000_000_000_000
_TS_STEP_MICROS = 100
# Form-encoded posts carry these arguments as JSON strings; JSON posts carry them as objects.
_JSON_ARGS = frozenset({"blocks", "attachments", "metadata"})

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


class BackgroundServer:
    """Serves an ASGI app with uvicorn on 127.0.0.1:<free port> in a thread with its own loop."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        sock = _bound_socket()
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app, lifespan="off", log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        failed = TimeoutError(f"uvicorn did not start within {timeout}s")
        _poll(lambda: self._server is not None and self._server.started, timeout, lambda: failed)

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._server = self._thread = None


class FakeSlack:
    """The Slack Web API on localhost: ``with FakeSlack() as slack: ... slack.base_url``."""

    def __init__(self, token: str = DEFAULT_BOT_TOKEN) -> None:
        self.token = token
        self.usergroups: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._server = BackgroundServer(self._asgi_app())
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "usergroups.users.list": self._usergroup_users,
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
        """Forget all calls, messages, user groups and pending rate limits."""
        with self._lock:
            self.usergroups.clear()
            self._calls: list[Call] = []
            self._messages: dict[tuple[str, str], Message] = {}
            self._ts_count = 0
            self._rate_limited = 0
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

    def messages(self, channel: str | None = None) -> list[Message]:
        """Posted messages in post order, as they read now."""
        with self._lock:
            found = [m for m in self._messages.values() if channel in (None, m.channel)]
            return [Message(**vars(m)) for m in found]

    def updates_of(self, channel: str, ts: str) -> list[Call]:
        """The chat.update calls that targeted one message."""
        return [
            c
            for c in self.calls("chat.update")
            if c.args.get("channel") == channel and c.args.get("ts") == ts
        ]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """Poll predicate until it returns something truthy, and return that (blocking)."""
        return _poll(predicate, timeout, lambda: AssertionError(self._timeout_report(timeout)))

    async def wait_for_async(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """wait_for for code running on the test's own event loop (yields instead of blocking)."""
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise AssertionError(self._timeout_report(timeout))
            await asyncio.sleep(0.02)
        return value

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
        if not call.token:
            return _error("not_authed")  # Slack: "No authentication token provided."
        if call.token != self.token:
            return _error("invalid_auth")
        return handler(call.args)

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
        users = self.usergroups.get(args.get("usergroup", ""))
        if users is None:
            return _error("no_such_subteam")
        return {"ok": True, "users": list(users)}

    def _next_ts(self) -> str:
        self._ts_count += 1
        micros = _FIRST_TS_MICROS + self._ts_count * _TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


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


def _decode_form(body: bytes) -> dict[str, Any]:
    form: dict[str, Any] = dict(parse_qsl(body.decode(), keep_blank_values=True))
    for name in _JSON_ARGS & form.keys():
        with contextlib.suppress(json.JSONDecodeError):  # else keep the raw string
            form[name] = json.loads(form[name])
    return form


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _poll(predicate: Callable[[], T], timeout: float, failure: Callable[[], Exception]) -> T:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise failure()
        time.sleep(0.01)
    return value

"""The Lua scripts of bot/store/lua/, loaded with named keys and arguments.

Each script is declared here once, as a :class:`Script`: its file, the names of its keys and of
its arguments. The loader puts in front of the file's body::

    local K = {req = KEYS[1], audit = KEYS[2], ...}   -- so the body reads K.req
    local A = {actor = ARGV[1], now = ARGV[2], ...}   -- and A.actor
    local SEEN_TTL = 600 ...                          -- CONSTANTS, from this module only

and, for a script that changes requests, the transition table generated from
:data:`bot.machine.TABLE` and the shared helpers of ``_prelude.lua`` (``move``, ``audit``,
``close``, ``enqueue``, ...). Every script that writes the audit trail gets ``_chain.lua``
(``chain_append``, which writes to the trail's inbox) and names the keys of :data:`AUDIT_KEYS`;
``chain.lua`` moves the inbox's entries to the hash chain (see bot/store/audit_inbox.py). A call
passes dicts, checked against the declaration: a missing or an extra name is an error, not a
silently shifted position.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import NoScriptError
from redis.typing import EncodableT

from bot.machine import TABLE
from bot.ports.metrics import BUCKETS, PER_DOUBLING
from bot.store.multiplexing import Multiplexer

SEEN_TTL = 600  # seconds; longer than Slack's 5-minute signature window
ENDED_TTL = 90 * 24 * 3600  # an ended request is kept 90 days (history and audit stay longer)
HISTORY_KEEP = (
    10000  # history entries kept per service and environment (metrics rebuilds read them)
)
CONSTANTS = {
    "SEEN_TTL": SEEN_TTL,
    "ENDED_TTL": ENDED_TTL,
    "HISTORY_KEEP": HISTORY_KEEP,
    "PER_DOUBLING": PER_DOUBLING,
    "BUCKETS": BUCKETS,
}

_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")
_LUA_WORDS = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
}  # fmt: skip


class ScriptCallError(TypeError):
    """A script was called with keys or arguments other than the ones it declares."""


@dataclass(frozen=True)
class Script:
    """A Lua script: bot/store/lua/<name>.lua, with named keys and arguments."""

    name: str
    keys: tuple[str, ...]
    args: tuple[str, ...]
    rest: str = ""  # a trailing list of arguments, A.<rest> in Lua (a Lua list)
    machine: bool = True  # changes requests: gets the transition table and the prelude
    metrics: bool = False  # records delivery metrics: gets _metrics.lua (record_metrics)
    audit: bool = False  # writes the audit trail without the machine: gets _chain.lua

    @property
    def chained(self) -> bool:
        """Whether it appends to the audit trail's hash chain (and so names AUDIT_KEYS)."""
        return self.machine or self.audit

    def __post_init__(self) -> None:
        names = [*self.keys, *self.arg_names]
        bad = [n for n in names if not _NAME.match(n) or n in _LUA_WORDS]
        if bad or len(set(names)) < len(names):
            raise ValueError(f"script {self.name}: bad or repeated names {names}")
        if self.chained and not set(AUDIT_KEYS) <= set(self.keys):
            raise ValueError(f"script {self.name}: writes the audit trail, keys need {AUDIT_KEYS}")

    @property
    def arg_names(self) -> tuple[str, ...]:
        return (*self.args, self.rest) if self.rest else self.args

    def body(self) -> str:
        return _read(f"{self.name}.lua")

    @functools.cache  # noqa: B019 (a few scripts, declared once, live as long as the process)
    def source(self) -> str:
        """The whole script as Redis runs it."""
        parts = [_names("K", "KEYS", self.keys), _names("A", "ARGV", self.args)]
        if self.rest:
            parts.append(f"A.{self.rest} = {{unpack(ARGV, {len(self.args) + 1})}}")
        parts += [f"local {name} = {value}" for name, value in CONSTANTS.items()]
        if self.chained:
            parts.append(_read("_chain.lua"))
        if self.machine:
            parts += [lua_table(), _read("_prelude.lua")]
        if self.metrics:
            parts.append(_read("_metrics.lua"))
        return "\n".join([*parts, self.body()])

    def call(
        self, keys: Mapping[str, str], args: Mapping[str, Any]
    ) -> tuple[list[str], list[EncodableT]]:
        """KEYS and ARGV in the declared order; ScriptCallError unless the names match."""
        _check(self.name, "keys", self.keys, keys)
        _check(self.name, "args", self.arg_names, args)
        rest = args[self.rest] if self.rest else []
        return [keys[name] for name in self.keys], [*(args[n] for n in self.args), *rest]


class Loaded:
    """A script registered with one Redis client: ``await loaded(keys={...}, args={...})``.
    With ``lines``, it runs on their shared connection (bot/store/multiplexing.py)."""

    def __init__(
        self, redis: aioredis.Redis, script: Script, lines: Multiplexer | None = None
    ) -> None:
        self.script, self.lines = script, lines
        self._run = redis.register_script(script.source())

    async def __call__(
        self, keys: Mapping[str, str], args: Mapping[str, Any], client: Any = None
    ) -> Any:
        """Run it; with ``client`` (a pipeline), queue it there instead."""
        ordered_keys, ordered_args = self.script.call(keys, args)
        if client is not None or self.lines is None:
            return await self._run(keys=ordered_keys, args=ordered_args, client=client)
        command = ("EVALSHA", self._run.sha, len(ordered_keys), *ordered_keys, *ordered_args)
        try:
            return await self.lines.execute(*command)
        except NoScriptError:  # Redis restarted, or SCRIPT FLUSH: load it, as redis-py does
            await self.lines.execute("SCRIPT", "LOAD", self._run.script)
            return await self.lines.execute(*command)


def lua_table() -> str:
    """bot.machine.TABLE as Lua: ``MOVES[state][event] = {to=, audit=, who={...}}`` (the
    state '' is a request that does not exist yet) and ``AUDIT[event]``, its audit name."""
    moves: dict[str, list[str]] = {}
    for row in TABLE:
        who = ", ".join(f"{member.name.lower()} = true" for member in row.who if member.name)
        entry = f"{row.event} = {{to = '{row.next}', audit = '{row.audit}', who = {{{who}}}}}"
        moves.setdefault(row.state.value if row.state else "", []).append(entry)
    states = [f"  ['{state}'] = {{{', '.join(entries)}}}," for state, entries in moves.items()]
    audits = ", ".join(sorted({f"{row.event} = '{row.audit}'" for row in TABLE}))
    return "\n".join(["local MOVES = {", *states, "}", f"local AUDIT = {{{audits}}}"])


def _names(table: str, source: str, names: Sequence[str]) -> str:
    fields = ", ".join(f"{name} = {source}[{i}]" for i, name in enumerate(names, start=1))
    return f"local {table} = {{{fields}}}"


def _check(script: str, what: str, declared: Sequence[str], given: Mapping[str, Any]) -> None:
    missing, extra = set(declared) - set(given), set(given) - set(declared)
    if missing or extra:
        raise ScriptCallError(
            f"script {script}: {what} missing {sorted(missing)}, unknown {sorted(extra)}"
        )


def _read(filename: str) -> str:
    return resources.files("bot.store").joinpath("lua", filename).read_text(encoding="utf-8")


# The scripts. Each .lua file starts with a comment saying what it does and what it answers.
AUDIT_KEYS = ("audit_inbox",)  # where chain_append writes an entry (chain.lua chains it)
JOB_KEYS = ("jobs", "announce_job", "announce_result", "start_job", "start_result")
JOB_ARGS = ("announce_id", "announce_data", "start_id", "start_data", "run_at", "job_expires")
CREATE = Script(
    "create",
    keys=(
        "req",
        *AUDIT_KEYS,
        "lane",
        "open",
        "workers",
        "seen",
        "running",
        "urgent",
        "lock",
        "freeze_all",
        "freeze_service",
        *JOB_KEYS,
    ),
    args=("actor", "now", "id", "gone_after", "fields", "unrestrained", *JOB_ARGS),
)
APPROVE = Script(
    "approve",
    keys=("req", *AUDIT_KEYS, "approvers", "lane", "open", "seen", "running", "urgent"),
    args=("actor", "now", "eligible"),
)
END = Script(
    "end",
    keys=("req", *AUDIT_KEYS, "approvers", "open", "lane", "seen", "rejected", "urgent"),
    args=("actor", "now", "event", "queued_too", "reason", "entry"),
)
CLAIM = Script(
    "claim",
    keys=("req", *AUDIT_KEYS, "lane", "lease", "running", "urgent"),
    args=("actor", "now", "lease_seconds", "attempt"),
)
STOP = Script("stop", keys=("req", *AUDIT_KEYS, "seen"), args=("actor", "now"))
EXPIRE = Script("expire", keys=("req", *AUDIT_KEYS, "approvers", "open"), args=("actor", "now"))
METRIC_KEYS = (
    "day", "day_all", "week", "week_all", "marked_day", "marked_day_all", "marked_week",
    "marked_week_all", "mstate", "flagged", "tally",
)  # fmt: skip
FINISH = Script(
    "finish",
    keys=(
        "req", *AUDIT_KEYS, "approvers", "open", "lane", "lease", "running", "history",
        "undone_req", "undone", *METRIC_KEYS,
    ),
    args=(
        "actor", "now", "event", "failure", "detail", "steps", "entry", "undoes", "undoer",
        "metrics",
    ),
    metrics=True,
)  # fmt: skip
METRICS = Script(
    "metrics", keys=(*METRIC_KEYS, "approvers"), args=("metrics",), machine=False, metrics=True
)
LEADS = Script(
    "leads",
    keys=("day", "day_all", "week", "week_all", "records", "tally"),
    args=("id", "labels", "leads", "record", "bounds", "replay"),
    machine=False,
    metrics=True,
)
RENEW = Script(
    "renew", keys=("req", "lease", "figures"), args=("worker", "lease_seconds", "unreached"),
    machine=False,
)  # fmt: skip
CURRENT_IF_NEWER = Script(
    "current_if_newer", keys=("current",), args=("at", "what"), rest="targets", machine=False
)
NOTE = Script(
    "note",
    keys=(*AUDIT_KEYS, "seen"),
    args=("at", "actor", "event", "request_id", "service", "environment", "detail"),
    machine=False,
    audit=True,
)
TRIM_AUDIT = Script(
    "trim_audit",
    keys=(*AUDIT_KEYS, "audit", "audit_index", "audit_anchor"),
    args=("before", "now", "chunk"),
    machine=False,
    audit=True,
)
CHAIN = Script(
    "chain",
    keys=("audit_inbox", "audit", "audit_head", "audit_index"),
    args=("seq", "hash"),
    rest="links",
    machine=False,
)
SCRIPTS = (
    CREATE, APPROVE, END, CLAIM, STOP, EXPIRE, FINISH, RENEW, CURRENT_IF_NEWER, METRICS, LEADS,
    NOTE, TRIM_AUDIT, CHAIN,
)  # fmt: skip

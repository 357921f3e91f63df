"""The audit trail's entries as the store gives them (bot/domain/audit_chain.py checks them)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

# the fields an entry's hash covers, in this order (canonical() below)
FIELDS = ("seq", "at", "actor", "event", "request_id", "service", "environment", "detail", "prev")
ZERO_HASH = "0" * 64  # the prev of the first entry
# each retention step appends a chained entry, event RETENTION by actor "shipbot", whose detail
# names the anchor it left: "trimmed <n> entries (retention); anchor seq <seq>, hash <hash>,
# entry <stream id>" (bot/store/lua/trim_audit.lua writes it, bot/domain/audit_chain.py reads it)
RETENTION = "retention"


@dataclass(frozen=True)
class Entry:
    """One audit entry as stored: its stream id and its fields, all as the strings kept."""

    id: str
    seq: str
    at: str
    actor: str
    event: str
    request_id: str
    service: str
    environment: str
    detail: str
    prev: str
    hash: str

    @classmethod
    def of(cls, entry_id: str, fields: Mapping[str, object]) -> Entry:
        """From a stream entry's (or an exported line's) fields; missing ones are ''."""
        names = (*FIELDS, "hash")
        return cls(entry_id, **{name: _text(fields.get(name, "")) for name in names})


def canonical(entry: Entry) -> bytes:
    """The bytes whose SHA-256 is the entry's hash: for each of FIELDS in order,
    ``name=<length in bytes>:<value>`` and a newline (UTF-8)."""
    parts = []
    for name in FIELDS:
        value = getattr(entry, name).encode("utf-8")
        parts.append(name.encode() + b"=" + str(len(value)).encode() + b":" + value + b"\n")
    return b"".join(parts)


def entry_hash(entry: Entry) -> str:
    """The entry's hash: the lowercase hex SHA-256 of its canonical content."""
    return hashlib.sha256(canonical(entry)).hexdigest()


@dataclass(frozen=True)
class Link:
    """Where a chain starts or ends: an entry's seq, hash and stream id."""

    seq: int
    hash: str
    id: str = ""


@dataclass(frozen=True)
class Anchor:
    """The last entry retention trimmed (the kept entries follow it), and when it did."""

    link: Link
    trimmed_at: float


@dataclass(frozen=True)
class Snapshot:
    """The start of a verification, as one moment saw it (one MULTI): an append or a trim
    cannot fall between these reads."""

    head: Link | None
    anchor: Anchor | None
    newest: str  # the stream id of the newest entry ("" when none): the head's, unless forged
    entries: list[Entry]  # the oldest entries kept, up to a page
    waiting: int = 0  # entries in the inbox, written but not chained yet


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)

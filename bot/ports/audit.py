"""The audit trail's entries as the store gives them (bot/domain/audit_chain.py checks them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# the fields an entry's hash covers, in this order (bot/store/lua/_chain.lua has the same)
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


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)

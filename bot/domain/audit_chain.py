"""The audit trail's hash chain, as an auditor checks it (pure: no Redis, no I/O).

Each entry carries ``seq`` (1, 2, 3, ... with no gap), ``prev`` (the ``hash`` of the entry
before it; 64 zeros for the first) and ``hash``: the hex SHA-256 of its canonical content, the
UTF-8 bytes of, for each of :data:`FIELDS` in that order, ``name=<length in bytes>:<value>`` and
a newline (:func:`bot.ports.audit.canonical`, by which the store chains entries). An edit
changes an entry's hash; a deletion leaves a gap in ``seq``; an insertion or a rewrite breaks
``prev``; a rewritten tail no longer matches the head kept beside the stream (or the head hash
posted each day). Retention leaves an anchor (the last entry trimmed) and, in the same step, a
chained ``retention`` entry naming it: an anchor that the newest retention entry does not name
was moved by hand, to hide entries deleted from the start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from bot.ports.audit import FIELDS, RETENTION, ZERO_HASH, Entry, Link, canonical, entry_hash

__all__ = [
    "FIELDS", "ZERO_HASH", "Break", "Broken", "Entry", "Link", "Verdict", "canonical", "entry_hash",
    "verify",
]  # fmt: skip


class Broken(Enum):
    EDITED = "edited"  # its content does not match its hash
    MISSING = "missing"  # a gap in seq: the entries between were deleted
    OUT_OF_ORDER = "out of order"  # a seq at or below the one before: inserted or replayed
    PREV = "prev mismatch"  # its prev is not the hash of the entry before it
    UNCHAINED = "unchained"  # it carries no seq or hash
    HEAD = "head mismatch"  # the chain does not end where the head says
    ANCHOR = "anchor mismatch"  # the anchor is not the one the newest retention entry names


@dataclass(frozen=True)
class Break:
    """The first broken place: the entry (stream id, position from 1, seq) and why."""

    kind: Broken
    id: str
    position: int
    seq: str
    message: str


@dataclass(frozen=True)
class Verdict:
    count: int  # entries checked
    first_prev: str  # the prev of the first entry (what the part checked hangs from)
    last: Link | None  # the last entry checked (or the start, when none): seq, hash, stream id
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


class Checker:
    """Checks entries one at a time (a chain too long to hold): :meth:`add` each in order,
    then :meth:`verdict`. ``start``: what the first must follow (seq and hash: the anchor left
    by retention, or seq 0 and ZERO_HASH for a whole chain); None takes the first as given
    (an export). After the first break, entries added are ignored. :meth:`anchored` checks
    a whole trail in Redis, its anchor included."""

    def __init__(self, start: Link | None = None) -> None:
        self.count, self.first_prev, self.last = 0, "", start
        self.broken: Break | None = None
        self.first_id = ""
        self.anchoring = False  # the anchor is checked against the retention entries
        self.anchor: Link | None = None  # the anchor the trail starts from (anchored only)
        self.named: tuple[Entry, Link | None] | None = None  # the newest retention entry

    @classmethod
    def anchored(cls, anchor: Link | None) -> Checker:
        """For the whole trail kept: from ``anchor`` (None: from seq 1), which the newest
        retention entry must name."""
        checker = cls(anchor or Link(0, ZERO_HASH))
        checker.anchoring, checker.anchor = True, anchor
        return checker

    def add(self, entry: Entry) -> bool:
        """Whether the chain still holds with ``entry``."""
        if self.broken is None:
            self.broken = _check(entry, self.count + 1, self.last)
        if self.broken is not None:
            return False
        self.count += 1
        self.first_prev = self.first_prev or entry.prev
        self.first_id = self.first_id or entry.id
        if entry.event == RETENTION:
            self.named = (entry, named_anchor(entry.detail))
        self.last = Link(int(entry.seq), entry.hash, entry.id)
        return True

    def verdict(self, head: Link | None = None) -> Verdict:
        """The result; ``head``: where the chain must end, when known."""
        broken = self.broken or _check_head(self.last, head, self.count)
        if broken is None and self.anchoring and (self.anchor or self.named):
            broken = self._check_anchor()
        count = 0 if broken is not None and broken.kind is Broken.ANCHOR else self.count
        return Verdict(count, self.first_prev, self.last, broken)

    def _check_anchor(self) -> Break | None:
        """The anchor must be the one the newest retention entry names, and without a
        retention entry there must be no anchor."""
        anchor = self.anchor
        has = f"the anchor (seq {anchor.seq}, hash {anchor.hash})" if anchor else "no anchor"
        if self.named is None:
            why = f"{has} is named by no retention entry"
        else:
            entry, link = self.named
            if link and anchor and (link.seq, link.hash) == (anchor.seq, anchor.hash):
                return None
            names = f"seq {link.seq}, hash {link.hash}" if link else "no anchor"
            why = f"{has} is not what the newest retention entry {entry.id} names ({names})"
        seq = str(anchor.seq + 1) if anchor else "1"
        why += ": entries at the start may have been deleted"
        return Break(Broken.ANCHOR, self.first_id, 1, seq, why)


_NAMES_ANCHOR = re.compile(r"anchor seq (\d+), hash ([0-9a-f]{64})")


def named_anchor(detail: str) -> Link | None:
    """The anchor a retention entry's detail names (seq and hash), if it names one."""
    found = _NAMES_ANCHOR.search(detail)
    return Link(int(found[1]), found[2]) if found else None


def verify(
    entries: Iterable[Entry], start: Link | None = None, head: Link | None = None
) -> Verdict:
    """Check ``entries`` in order (see :class:`Checker`) and where they end."""
    checker = Checker(start)
    for entry in entries:
        if not checker.add(entry):
            break
    return checker.verdict(head)


def _check(entry: Entry, position: int, before: Link | None) -> Break | None:
    def broken(kind: Broken, why: str) -> Break:
        return Break(kind, entry.id, position, entry.seq, why)

    where = f"entry {entry.id} (position {position}, seq {entry.seq or '?'})"
    if not entry.seq.isdigit() or not entry.hash:
        return broken(Broken.UNCHAINED, f"{where} carries no seq or hash")
    if entry_hash(entry) != entry.hash:
        return broken(Broken.EDITED, f"{where} was edited: its content does not match its hash")
    if before is None:
        return None
    seq, after = int(entry.seq), _named(before)
    if seq > before.seq + 1:
        gap = (
            f"entry {seq - 1} is"
            if seq == before.seq + 2
            else f"entries {before.seq + 1}-{seq - 1} are"
        )
        why = f"{gap} missing: after {after} comes {entry.id} (seq {seq})"
        return broken(Broken.MISSING, why)
    if seq <= before.seq:
        return broken(Broken.OUT_OF_ORDER, f"{where} comes after {after}: out of order")
    if entry.prev != before.hash:
        return broken(Broken.PREV, f"{where}: its prev is not the hash of {after}")
    return None


def _check_head(last: Link | None, head: Link | None, count: int) -> Break | None:
    if head is None or last == head or (last is None and head.seq == 0):
        return None
    ends = _named(last) if last else "nothing"
    why = f"the chain ends at {ends} but its head says seq {head.seq} ({head.id}, {head.hash})"
    if last is None or head.seq > last.seq:
        why += ": entries at the end are missing"
    return Break(Broken.HEAD, last.id if last else "", count, str(last.seq) if last else "", why)


def _named(link: Link) -> str:
    return f"{link.id or 'the anchor'} (seq {link.seq})"

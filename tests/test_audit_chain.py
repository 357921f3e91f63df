"""The audit trail's hash chain: the canonical encoding, the hashes it gives (the same as the
Lua SHA-256 that wrote the chain before the inbox), and the checks an auditor runs."""

from __future__ import annotations

import dataclasses

from bot.domain.audit_chain import (
    ZERO_HASH,
    Broken,
    Entry,
    Link,
    canonical,
    entry_hash,
    verify,
)

MULTIBYTE = ["é", "日本語の監査", "👩‍💻 deploy", "Ünïcödé " * 20, "\u0000nul\n|=:"]
# The hashes shipbot's Lua (_sha256.lua and _chain.lua's canonical(), in a real redis-server)
# gave entry(seq=12, detail=...) before entries went through the inbox and were hashed in
# Python: chains written then keep verifying, and chaining now gives the same hashes.
LUA_HASHES = {
    "": "53fb161c02424ee977102ad12dc0b811b5a6e62df7a58ff5bb05484318d914cf",
    "behind d-0": "516b7938ba42bf6714e23006e4612f19f589d1cdc66f994974d1d8776794c087",
    "é": "1375fa5438203dc8ec3cd33703c565f0f062bd4864ca865e9c8bbecc6bd96d95",
    "日本語の監査": "de1a74e00007d8b1bb4e31369a57b6e64edbfa26feff5864dbfeee3d8c6ea53c",
    "👩‍💻 deploy": "b9fc747b0ab2401573ae930adb0ee4179313a388d949c3f9f9c638777279064b",
    "Ünïcödé " * 20: "e8b0408461435c634c4c5b18526e99177d8bb20d4422d9c39c0d18bfbd3de7b0",
    "\u0000nul\n|=:": "7324b6efbc0334ba53681435ce58f6d635ab5a6e0c9a2b408211f9ef31166194",
}


def entry(seq: int = 1, prev: str = ZERO_HASH, **fields: str) -> Entry:
    values = {
        "seq": str(seq), "at": "1733000000.25", "actor": "U0ALICE", "event": "approved",
        "request_id": "d-1", "service": "web-h5", "environment": "prod",
        "detail": "2 of 2 approvals", "prev": prev, **fields,
    }  # fmt: skip
    unhashed = Entry.of(f"1733000000{seq:03d}-0", values)
    return dataclasses.replace(unhashed, hash=entry_hash(unhashed))


def chain(n: int) -> list[Entry]:
    entries, prev = [], ZERO_HASH
    for seq in range(1, n + 1):
        entries.append(entry(seq, prev, detail=f"step {seq} ✓"))
        prev = entries[-1].hash
    return entries


def test_the_canonical_encoding_is_each_field_with_its_byte_length() -> None:
    """`name=<bytes>:<value>` and a newline, for the nine fields in their fixed order."""
    expected = (
        "seq=1:1\nat=13:1733000000.25\nactor=7:U0ALICE\nevent=8:approved\nrequest_id=3:d-1\n"
        "service=6:web-h5\nenvironment=4:prod\ndetail=6:caf\u00e9!\nprev=64:" + ZERO_HASH + "\n"
    ).encode()
    assert expected == canonical(entry(detail="café!"))


def test_the_hashes_are_the_ones_the_lua_chain_wrote() -> None:
    """The same entries, hashed in Python, give the hashes shipbot's Lua SHA-256 gave them."""
    for detail, lua_hash in LUA_HASHES.items():
        assert lua_hash == entry(seq=12, detail=detail).hash, detail


def test_a_whole_chain_verifies() -> None:
    """Five linked entries from seq 1: ok, five counted, ending at the last hash."""
    entries = chain(5)
    verdict = verify(entries, Link(0, ZERO_HASH), Link(5, entries[-1].hash, entries[-1].id))
    assert verdict.ok and 5 == verdict.count
    assert Link(5, entries[-1].hash, entries[-1].id) == verdict.last


def test_an_edited_entry_is_named() -> None:
    """Detail of the third changed: broken there, as edited."""
    entries = chain(5)
    entries[2] = dataclasses.replace(entries[2], detail="approved by nobody")
    broken = verify(entries).broken
    assert broken is not None
    assert (Broken.EDITED, entries[2].id, 3) == (broken.kind, broken.id, broken.position)


def test_a_deleted_entry_is_named_by_its_seq() -> None:
    """The fourth of six gone: the fifth is where it breaks, saying entry 4 is missing after
    the third."""
    entries = chain(6)
    del entries[3]
    broken = verify(entries, Link(0, ZERO_HASH)).broken
    assert broken is not None and broken.kind is Broken.MISSING
    assert (
        f"entry 4 is missing: after {entries[2].id} (seq 3) comes {entries[3].id} (seq 5)"
    ) == broken.message


def test_a_rewritten_link_is_a_prev_mismatch() -> None:
    """An entry re-hashed after an edit of its prev: broken there as a prev mismatch."""
    entries = chain(3)
    forged = dataclasses.replace(entries[1], prev="f" * 64)
    entries[1] = dataclasses.replace(forged, hash=entry_hash(forged))
    broken = verify(entries).broken
    assert broken is not None and (Broken.PREV, 2) == (broken.kind, broken.position)


def test_a_lost_tail_is_a_head_mismatch() -> None:
    """The last entry deleted: everything before verifies, but not against the head."""
    entries = chain(4)
    head = Link(4, entries[-1].hash, entries[-1].id)
    broken = verify(entries[:-1], Link(0, ZERO_HASH), head).broken
    assert broken is not None and broken.kind is Broken.HEAD
    assert "entries at the end are missing" in broken.message


def test_a_chain_must_start_after_its_anchor() -> None:
    """From seq 1 without an anchor: a chain whose first entries were deleted breaks at once."""
    entries = chain(4)[2:]
    broken = verify(entries, Link(0, ZERO_HASH)).broken
    assert broken is not None and (Broken.MISSING, 1) == (broken.kind, broken.position)


def test_an_export_is_taken_as_it_starts() -> None:
    """No start given (an export): a piece from the middle verifies, giving its first prev."""
    entries = chain(6)
    verdict = verify(entries[2:])
    assert (True, 4, entries[1].hash) == (verdict.ok, verdict.count, verdict.first_prev)

"""The audit trail's hash chain: the canonical encoding, SHA-256 in Redis's Lua (real
redis-server and fakeredis, against hashlib), and the checks an auditor runs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
import redis

from bot.domain.audit_chain import (
    ZERO_HASH,
    Broken,
    Entry,
    Link,
    canonical,
    entry_hash,
    verify,
)
from bot.store.scripts import _read
from tests.fakes import RedisServer

LENGTHS = [*range(0, 301), 55, 56, 63, 64, 119, 120, 1000]
MULTIBYTE = ["é", "日本語の監査", "👩‍💻 deploy", "Ünïcödé " * 20, "\u0000nul\n|=:"]


@pytest.fixture(params=["redis-server", "fakeredis"])
def lua(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Any]:
    """A Redis whose Lua runs _sha256.lua and _chain.lua: real (with `bit`) or fakeredis
    (without it: the arithmetic stand-in)."""
    client: Any = (
        redis.Redis.from_url(redis_server.url)
        if request.param == "redis-server"
        else fakeredis.FakeRedis()
    )
    yield client
    client.close()


def sha256_in_lua(client: Any, data: bytes) -> str:
    source = _read("_sha256.lua") + "\nreturn sha256_hex(ARGV[1])"
    return str(client.eval(source, 0, data).decode())


def test_lua_sha256_matches_hashlib_for_every_length(lua: Any) -> None:
    """Random bytes of each length 0..300 (and 1000), the padding edges 55/56/63/64/119/120
    among them: the Lua digest is hashlib's."""
    rng = random.Random(10)
    for n in LENGTHS:
        data = bytes(rng.randrange(256) for _ in range(n))
        assert hashlib.sha256(data).hexdigest() == sha256_in_lua(lua, data), n


def test_lua_sha256_hashes_utf8_bytes(lua: Any) -> None:
    """Multibyte UTF-8 text: the bytes are hashed, not the characters."""
    for text in MULTIBYTE:
        data = text.encode()
        assert hashlib.sha256(data).hexdigest() == sha256_in_lua(lua, data)


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


def test_lua_canonical_hash_is_pythons(lua: Any) -> None:
    """The same entry, hashed by _chain.lua's canonical() in Redis and by Python."""
    source = "\n".join(
        [_read("_sha256.lua"), _read("_chain.lua"),
         "return sha256_hex(canonical(cjson.decode(ARGV[1])))"]
    )  # fmt: skip
    for detail in ["", "behind d-0", *MULTIBYTE]:
        e = entry(seq=12, detail=detail)
        fields = {k: v for k, v in dataclasses.asdict(e).items() if k not in ("id", "hash")}
        assert e.hash == lua.eval(source, 0, json.dumps(fields)).decode()


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

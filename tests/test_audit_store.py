"""The hash-chained audit trail in a real redis-server: written by the transition scripts,
note() and record_external() in one Lua step each; its head, its per-request index, its
retention (with the anchor the rest verifies from), and the daily witness posted to FakeSlack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app.audit_verify import verify_redis
from bot.app.wiring import build_services
from bot.catalog.model import load_catalog
from bot.catalog.settings import Settings
from bot.domain import audit_daily
from bot.domain.audit_chain import ZERO_HASH, Link, Verdict
from bot.domain.metrics.days import today
from bot.domain.services import Services
from bot.models import AuditEvent, State
from bot.ports.metrics import NO_MARK
from bot.ports.store import StoreUnavailable
from bot.store import audit as audit_store
from bot.store.queue import InlineQueue
from bot.store.requests import RedisStore, connect
from tests.fakes import DEFAULT_BOT_TOKEN, FakeSlack, RedisServer
from tests.test_store import external, finish_record, request

CATALOG = """
notify: {releases_channel: C0RELEASES, audit_channel: C0AUDIT}
audit: {retention_days: 30}
services:
  web-h5:
    deployer: ansible
    playbook: site.yml
    environments:
      prod: {approvals: 0}
"""
DAY = 86400.0


async def checked(store: RedisStore) -> Verdict:
    """The whole trail in Redis, verified from its anchor (or seq 0) to its head."""
    return await verify_redis(store)


async def a_life(store: RedisStore, rid: str = "d-1") -> None:
    """A request created, approved twice (one refused click noted between), run, finished."""
    r = request(rid)
    await store.create(r)
    await store.approve(r, "U0ALICE", eligible=[0])
    await store.note(AuditEvent(actor="U0DEV", event="approval_refused", request_id=rid))
    await store.approve(r, "U0BOB", eligible=[0])
    assert (await store.claim(r, "worker:a")).outcome.value == "running"
    await store.finish(finish_record(r, "worker:a", State.SUCCEEDED))


async def test_transitions_and_notes_write_one_contiguous_chain(store: RedisStore) -> None:
    """Every entry a request's life writes carries seq 1..n, each prev the hash before, and
    the whole verifies against the head key."""
    await a_life(store)
    entries = await store.audit_entries()
    verdict = await checked(store)
    assert verdict.ok, verdict.broken
    assert [str(n) for n in range(1, len(entries) + 1)] == [e.seq for e in entries]
    assert ZERO_HASH == entries[0].prev and len(entries) >= 7
    head = await store.audit_head()
    assert head == Link(len(entries), entries[-1].hash, entries[-1].id)


async def test_note_keeps_its_signature_and_once_per_delivery(store: RedisStore) -> None:
    """note(event, delivery): the same delivery twice is one entry; the chain holds."""
    event = AuditEvent(actor="U0OPS", event="locked", service="web-h5", detail="maintenance")
    for delivery in ("lock-1", "lock-1", "lock-2"):
        await store.note(event, delivery)
    assert 2 == await store.audit_length() and (await checked(store)).ok


async def test_an_external_deployment_is_chained(store: RedisStore) -> None:
    """record_external's audit entry is a link of the chain like any other."""
    await store.note(AuditEvent(actor="U0OPS", event="frozen"))
    entry, deployed = external(1.0, "dc-a")
    assert await store.record_external(entry, deployed, NO_MARK)
    [_, outside] = await store.audit_entries()
    assert ("2", "deployed_outside_shipbot", "gitlab-5-9") == (
        outside.seq, outside.event, outside.request_id,
    )  # fmt: skip
    assert (await checked(store)).ok


async def test_a_requests_entries_are_found_by_the_index(store: RedisStore) -> None:
    """However many entries came after, a request's own are found, newest first."""
    await a_life(store, "d-old")
    for n in range(50):
        await store.note(AuditEvent(actor="U0X", event="noise", request_id=f"d-{n}"))
    events, matched = await store.audit_of("d-old", limit=3)
    assert matched >= 7 and 3 == len(events)
    assert {"d-old"} == {e.request_id for e in events}
    assert events[0].at >= events[-1].at and "succeeded" == events[0].event


async def test_retention_trims_in_chunks_and_leaves_an_anchor(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries before the cutoff go (two per step here), with their index members; the anchor
    names the last gone, and what is kept verifies from it to the head."""
    monkeypatch.setattr(audit_store, "TRIM_CHUNK", 2)
    for n in range(5):
        await store.note(AuditEvent(actor="U0X", event="old", request_id=f"d-{n}"))
    seconds, micros = await store.redis.time()
    cutoff = seconds + micros / 1e6 + 0.002
    await asyncio.sleep(0.01)
    await a_life(store, "d-new")
    old = (await store.audit_entries(count=5))[-1]
    assert 5 == await store.trim_audit(cutoff, now=cutoff)
    anchor = await store.audit_anchor()
    assert anchor is not None and Link(5, old.hash, old.id) == anchor.link
    assert ([], 0) == await store.audit_of("d-3")
    assert "6" == (await store.audit_entries(count=1))[0].seq
    assert (await checked(store)).ok


async def test_trimming_entries_from_before_the_chain_leaves_no_anchor(
    store: RedisStore,
) -> None:
    """Entries written before the hash chain existed (no seq, no hash) are trimmed like any,
    with no anchor to leave: what is kept still verifies from its start."""
    for n in range(3):
        await store.redis.xadd(store.key.audit(), {"at": "1", "actor": "U0X", "event": f"e{n}"})
    seconds, micros = await store.redis.time()
    cutoff = seconds + micros / 1e6 + 0.002
    await asyncio.sleep(0.01)
    await a_life(store, "d-new")
    assert 3 == await store.trim_audit(cutoff, now=cutoff)
    assert None is await store.audit_anchor()
    assert (await checked(store)).ok


async def test_a_deleted_entry_breaks_the_chain_there(store: RedisStore) -> None:
    """XDEL of the third entry: the chain breaks at the fourth, saying entry 3 is missing."""
    await a_life(store)
    entries = await store.audit_entries()
    await store.redis.xdel(store.key.audit(), entries[2].id)
    broken = (await checked(store)).broken
    assert broken is not None and (entries[3].id, 3) == (broken.id, broken.position)
    assert f"entry 3 is missing: after {entries[1].id} (seq 2)" in broken.message


# -- the daily job: retention and the witness, two workers, FakeSlack -----------------------


@dataclass
class Worker:
    services: Services


@pytest.fixture
async def workers(
    redis_server: RedisServer, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[list[Worker]]:
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    catalog = load_catalog(tmp_path / "catalog.yaml")
    settings = Settings(redis_url=redis_server.url)
    fake_slack.reset()
    redises = [connect(redis_server.url) for _ in range(2)]
    await redises[0].flushdb()
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake_slack.base_url)
    yield [Worker(build_services(settings, catalog, r, InlineQueue(), client)) for r in redises]
    for r in redises:
        await r.aclose()


async def test_one_of_two_workers_posts_the_head_once_a_day(
    workers: list[Worker], fake_slack: FakeSlack
) -> None:
    """Both check at the same minute: one posts the head (seq and hash) to the audit channel;
    later that day neither does; the next day one does again."""
    store = workers[0].services.store
    await store.note(AuditEvent(actor="U0OPS", event="frozen"))
    head = await store.audit_head()
    now = time.time()
    assert [True, False] == [await audit_daily.witness(w.services, now) for w in workers]
    assert [False, False] == [await audit_daily.witness(w.services, now + 60) for w in workers]
    assert True is await audit_daily.witness(workers[1].services, now + DAY)
    posted = [m.text for m in fake_slack.messages("C0AUDIT")]
    assert head is not None and 2 == len(posted)
    assert f"head seq 1, entry {head.id}, hash `{head.hash}`" in posted[0]


async def test_the_daily_job_applies_retention_once(workers: list[Worker]) -> None:
    """31 days on (retention 30): the first worker trims everything older, the second finds
    it done; what is left, the retention entry naming the anchor, verifies from it."""
    store = workers[0].services.store
    for n in range(3):
        await store.note(AuditEvent(actor="U0X", event="old", request_id=f"d-{n}"))
    later = time.time() + 31 * DAY
    assert [3, None] == [await audit_daily.trim(w.services, later) for w in workers]
    [left] = await store.audit_entries()  # type: ignore[attr-defined]
    assert ("shipbot", "retention", "4") == (left.actor, left.event, left.seq)
    assert left.detail.startswith("trimmed 3 entries (retention); anchor seq 3, hash ")
    assert (await checked(store)).ok  # type: ignore[arg-type]


async def test_a_failed_days_claim_lapses_soon_and_a_done_one_lasts(
    workers: list[Worker], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trim fails, and so does giving its claim back: the claim lapses within
    ATTEMPT_TTL (the next check soon tries again), not in two days. Done, it lasts the day."""
    failing, working = (w.services for w in workers)

    async def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("ConnectionError")

    monkeypatch.setattr(failing.store, "trim_audit", down)
    monkeypatch.setattr(failing.store, "release_once", down)
    now = time.time()
    assert None is await audit_daily.trim(failing, now)
    claim = working.store.key.once(f"audit-trim:{today(working.catalog.timezone, now)}")
    redis = working.store.redis  # type: ignore[attr-defined]
    assert 0 < await redis.ttl(claim) <= audit_daily.ATTEMPT_TTL
    await redis.delete(claim)  # as when it lapsed
    assert 0 == await audit_daily.trim(working, now)
    assert audit_daily.ATTEMPT_TTL < await redis.ttl(claim)


async def test_the_witness_names_the_anchor(workers: list[Worker], fake_slack: FakeSlack) -> None:
    """After a trim, the day's witness posts the anchor's seq and hash beside the head."""
    services = workers[0].services
    for n in range(3):
        await services.store.note(AuditEvent(actor="U0X", event="old", request_id=f"d-{n}"))
    later = time.time() + 31 * DAY
    assert 3 == await audit_daily.trim(services, later)
    anchor = await services.store.audit_anchor()
    assert anchor is not None and await audit_daily.witness(services, later)
    [posted] = [m.text for m in fake_slack.messages("C0AUDIT")]
    assert f"Anchor (the last entry retention trimmed): seq 3, hash `{anchor.link.hash}`" in posted

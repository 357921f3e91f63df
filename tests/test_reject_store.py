"""The store's side of Reject's reason, the SHA binding and the emergency flag, on a private
redis-server; and how the card, the release note and history show them."""

from __future__ import annotations

import json

from bot.models import Action, HistoryEntry, State
from bot.store.requests import RedisStore
from handlers.blocks import card
from handlers.release_notes import release_note
from handlers.reports import history_text
from tests.test_store import request

FLAG = "🚨 *Emergency (freeze broken)*: exchange outage"


async def test_a_rejection_keeps_its_reason_on_the_request_audit_and_rejected_list(
    store: RedisStore,
) -> None:
    r = request()
    await store.create(r)
    await store.end(r, "U0BOB", State.REJECTED, reason="wrong version")
    rejected = await store.get(r.id)
    assert rejected is not None and "wrong version" == rejected.reject_reason
    audited = [(e.actor, e.detail) for e in await store.audit_trail() if e.event == "rejected"]
    assert [("U0BOB", "wrong version")] == audited
    (entry,) = await store.rejections("web-h5", "prod")
    assert (State.REJECTED, "U0BOB", "wrong version") == (
        entry.state,
        entry.rejected_by,
        entry.reject_reason,
    )


async def test_rejections_stay_out_of_the_runs_history(store: RedisStore) -> None:
    """Rollbacks and metrics read the runs' history: a rejected request is never in it."""
    r = request()
    await store.create(r)
    await store.end(r, "U0BOB", State.REJECTED, reason="no")
    assert [] == await store.history("web-h5", "prod")


async def test_a_cancel_records_no_reason(store: RedisStore) -> None:
    r = request()
    await store.create(r)
    await store.end(r, "U0DEV", State.CANCELLED, reason="ignored")
    assert [] == await store.rejections("web-h5", "prod")


async def test_an_emergency_is_audited_as_requested(store: RedisStore) -> None:
    await store.create(request(emergency="exchange outage"))
    requested = [e.detail for e in await store.audit_trail() if e.event == "requested"]
    assert ["v1 (emergency, freeze broken: exchange outage)"] == requested


async def test_the_commit_is_kept(store: RedisStore) -> None:
    await store.create(request())
    await store.set_commit("d-1", "abc12345ff", "", "https://gitlab.example/c/abc12345ff")
    kept = await store.get("d-1")
    assert kept is not None and ("abc12345ff", "") == (kept.commit_sha, kept.commit_note)


def test_the_card_flags_an_emergency_and_shows_the_commit() -> None:
    r = request(emergency="exchange outage", commit_sha="abc12345ff", commit_url="https://g/c")
    text = json.dumps(card(r, ["U0ALICE"])[1], ensure_ascii=False)
    assert FLAG in text and "<https://g/c|`abc12345`>" in text


def test_the_release_note_flags_an_emergency() -> None:
    r = request(emergency="exchange outage", state=State.RUNNING)
    assert FLAG in json.dumps(release_note(r)[1], ensure_ascii=False)


def test_history_flags_an_emergency_and_names_a_rejection_and_its_reason() -> None:
    common = {"action": Action.DEPLOY, "service": "web-h5", "environment": "prod",
              "version": "v1", "requester": "U0DEV", "approvers": [], "started_at": 0.0,
              "finished_at": 1.0}  # fmt: skip
    entries = [
        HistoryEntry(request_id="d-1", state=State.SUCCEEDED, emergency="exchange outage",
                     **common),
        HistoryEntry(request_id="d-2", state=State.REJECTED, rejected_by="U0BOB",
                     reject_reason="wrong version", **common),
    ]  # fmt: skip
    first, second = history_text("web-h5", entries).splitlines()[1:]
    assert first.endswith(FLAG)
    assert "`v1` *rejected* — asked by <@U0DEV>, rejected by <@U0BOB>: wrong version" in second

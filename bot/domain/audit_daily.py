"""What happens to the audit trail once a day, checked each minute by every worker.

- Retention: entries older than ``audit.retention_days`` are trimmed; the anchor left behind
  (the seq and hash of the last one trimmed) lets the rest verify.
- The witness: the chain's head (seq, hash, stream id) and its anchor (where retention left
  it) are posted to ``notify.audit_channel``, outside Redis, so a rewritten chain, or entries
  deleted from its start, cannot match what was posted.

Both are done once per calendar day of the catalog's time zone, by the first worker that
checks that day (``claim_once``: exactly one of many). The claim lasts ATTEMPT_TTL while it
works and is kept for the day (CLAIM_TTL) once done; one that failed gives its claim back so
the next minute's check tries again, or, if even that failed, its claim lapses soon.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot.domain.metrics.days import today
from bot.domain.services import Services
from bot.ports.audit import Anchor, Link
from bot.ports.store import StoreUnavailable

log = logging.getLogger(__name__)

ATTEMPT_TTL = 600  # seconds: the claim while the day's job is being done (or failed to be)
CLAIM_TTL = 2 * 86400  # seconds: a done day's claim outlives the day in any time zone


async def daily(services: Services, now: float) -> tuple[int | None, bool]:
    """This day's trim (how many entries went; None when another worker did it) and witness
    (whether this worker posted it)."""
    return await trim(services, now), await witness(services, now)


async def trim(services: Services, now: float) -> int | None:
    """Drop the entries past retention, once a day; how many went."""
    name = f"audit-trim:{today(services.catalog.timezone, now)}"
    try:
        if not await services.store.claim_once(name, ATTEMPT_TTL):
            return None
        days = services.catalog.audit.retention_days
        gone = await services.store.trim_audit(now - days * 86400, now)
    except StoreUnavailable as error:
        log.warning("audit retention not applied: Redis unavailable (%s)", error)
        await _give_back(services, name)
        return None
    await _keep(services, name)
    if gone:
        log.info("audit retention: %d entries older than %d days trimmed", gone, days)
    return gone


async def witness(services: Services, now: float) -> bool:
    """Post the head of the chain to notify.audit_channel, once a day; whether posted."""
    channel = services.catalog.notify.audit_channel
    if channel is None:
        return False
    name = f"audit-witness:{today(services.catalog.timezone, now)}"
    try:
        if not await services.store.claim_once(name, ATTEMPT_TTL):
            return False
        head, anchor = await services.store.audit_head(), await services.store.audit_anchor()
    except StoreUnavailable as error:
        log.warning("audit witness not posted: Redis unavailable (%s)", error)
        await _give_back(services, name)
        return False
    text = witness_text(head, anchor, now)
    if await services.notifier.post_blocks(channel, text, _blocks(text)) is None:
        await _give_back(services, name)
        return False
    await _keep(services, name)
    return True


def witness_text(head: Link | None, anchor: Anchor | None, now: float) -> str:
    when = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if head is None:
        return f"Audit trail witness, {when}: the trail is empty."
    text = (
        f"Audit trail witness, {when}: head seq {head.seq}, entry {head.id}, "
        f"hash `{head.hash}`. `shipbot audit verify` must end at this hash or later."
    )
    if anchor is None:
        return f"{text} No entry was trimmed: the trail starts at seq 1."
    start = anchor.link
    return (
        f"{text} Anchor (the last entry retention trimmed): seq {start.seq}, "
        f"hash `{start.hash}`; a later witness names this anchor or a later one."
    )


def _blocks(text: str) -> list[dict[str, object]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


async def _give_back(services: Services, name: str) -> None:
    try:
        await services.store.release_once(name)
    except StoreUnavailable:
        log.warning("audit: claim %s not released; it lapses in %d s", name, ATTEMPT_TTL)


async def _keep(services: Services, name: str) -> None:
    """Done: the claim lasts the day, so no one does it again."""
    try:
        await services.store.keep_once(name, CLAIM_TTL)
    except StoreUnavailable:
        log.warning("audit: claim %s not kept; it lapses in %d s, then is done again", name,
                    ATTEMPT_TTL)  # fmt: skip

"""`shipbot audit verify|export`: what an auditor runs (see the README's "Audit trail (for
auditors)"). Dates are calendar days in UTC; the checks are bot/domain/audit_chain.py's."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, TextIO

from bot.app.audit_verify import PAGE, Unchained, check_redis
from bot.domain.audit_chain import Break, Broken, Checker, Entry, Verdict
from bot.ports.store import StoreUnavailable

if TYPE_CHECKING:
    from bot.catalog.settings import Settings
    from bot.store.requests import RedisStore

MARGIN_MS = 86400 * 1000  # stream ids and event times may differ (clocks): read a day around
COLUMNS = ("id", "seq", "time", "at", "actor", "event", "request_id", "service", "environment",
           "detail", "prev", "hash")  # fmt: skip


def register(parser: argparse.ArgumentParser) -> None:
    """The arguments of `shipbot audit`."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="check the hash chain in Redis, or an export with --file (no Redis)",
        description="Check the audit trail's hash chain: each entry's hash, the seq with no\n"
        "gap, each prev, the head kept beside the stream, and the anchor retention left\n"
        "(the newest retention entry must name it). Entries appended while it runs are\n"
        "left for the next check. It first chains the entries written but not hashed yet\n"
        "(the inbox); should that fail, it says how many are left. Exit 0 printing the\n"
        "entries checked and the head hash; exit 1 naming the first broken entry and why,\n"
        "or when entries could not be chained.\n"
        "With --file, check an export (jsonl) offline: no Redis, no settings.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("--file", help="an export written by `shipbot audit export` (jsonl)")
    export = actions.add_parser(
        "export",
        help="write a period's entries with their hashes (jsonl or csv)",
        description="Write the entries of a period with their seq, prev and hash: from the\n"
        "first whose time is on or after --since to the last before the end of --until\n"
        "(calendar days in UTC), everything between included, so an export is always a\n"
        "whole piece of the chain that `shipbot audit verify --file` can check.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("--since", required=True, type=_day, help="first day, YYYY-MM-DD (UTC)")
    export.add_argument("--until", type=_day, help="last day, YYYY-MM-DD (UTC; default: all)")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--output", help="file to write (default: standard output)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.action == "export":
            return _export(args, asyncio.run(_period(args, _store(settings))))
        verdict, unchained = asyncio.run(_check_redis(_store(settings)))
        return max(_say(verdict, "the audit trail", "head"), _say_unchained(unchained))
    except StoreUnavailable as error:
        raise SystemExit(f"shipbot: can't reach Redis ({error})") from None


def verify_file(path: str) -> int:
    with open(path, encoding="utf-8") as lines:
        checker = Checker()
        for position, line in enumerate(lines, start=1):
            entry = _parsed(line, position)
            if isinstance(entry, Break):
                checker.broken = entry
            if isinstance(entry, Break) or not checker.add(entry):
                break
    return _say(checker.verdict(), path, "last")


def _store(settings: Settings) -> RedisStore:
    from bot.store.connection import RedisTarget
    from bot.store.requests import RedisStore

    return RedisStore(RedisTarget.of(settings).client(), settings.shipbot_key_prefix)


async def _verify_redis(store: RedisStore) -> Verdict:
    return (await _check_redis(store))[0]


async def _check_redis(store: RedisStore) -> tuple[Verdict, Unchained | None]:
    try:
        return await check_redis(store)
    finally:
        await store.redis.aclose()


async def _entries(store: RedisStore, after: str) -> AsyncIterator[Entry]:
    while page := await store.audit_entries(after, PAGE):
        for entry in page:
            yield entry
        after = page[-1].id


async def _period(args: argparse.Namespace, store: RedisStore) -> list[Entry]:
    """The entries from the first in the period to the last in it, all those between too."""
    since = datetime.combine(args.since, datetime.min.time(), UTC).timestamp()
    end = datetime.combine(args.until or date.max - timedelta(days=1), datetime.min.time(), UTC)
    until = (end + timedelta(days=1)).timestamp()
    piece: list[Entry] = []
    kept = 0  # entries of piece up to the last one inside the period
    start = max(0, int(since * 1000) - MARGIN_MS)
    async for entry in _entries(store, f"{start}-0"):
        if int(entry.id.split("-")[0]) > until * 1000 + MARGIN_MS:
            break
        inside = since <= _at(entry) < until
        if inside or piece:
            piece.append(entry)
        kept = len(piece) if inside else kept
    await store.redis.aclose()
    return piece[:kept]


def _export(args: argparse.Namespace, entries: list[Entry]) -> int:
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            _write(out, entries, args.format)
    else:
        _write(sys.stdout, entries, args.format)
    print(f"exported {len(entries)} entries to {args.output or 'standard output'}", file=sys.stderr)
    return 0


def _write(out: TextIO, entries: list[Entry], form: str) -> None:
    rows = (_row(entry) for entry in entries)
    if form == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)


def _row(entry: Entry) -> dict[str, object]:
    fields: dict[str, object] = asdict(entry)
    fields["seq"] = int(entry.seq) if entry.seq.isdigit() else entry.seq
    fields["time"] = datetime.fromtimestamp(_at(entry), UTC).isoformat()
    return {name: fields[name] for name in COLUMNS}


def _parsed(line: str, position: int) -> Entry | Break:
    try:
        fields = json.loads(line)
        return Entry.of(str(fields["id"]), fields)
    except (ValueError, KeyError, TypeError, AttributeError):
        return Break(Broken.UNCHAINED, "", position, "", f"line {position} is not an entry")


def _say(verdict: Verdict, what: str, end: str) -> int:
    if verdict.broken is not None:
        print(f"{what}: BROKEN at position {verdict.broken.position}: {verdict.broken.message}")
        print(f"({verdict.count} entries before it verified)")
        return 1
    last = verdict.last
    print(f"{what}: ok, {verdict.count} entries verified")
    if last is not None:
        print(f"{end}: seq {last.seq}, entry {last.id or '(none)'}, hash {last.hash}")
    if verdict.first_prev:
        print(f"first prev: {verdict.first_prev}")
    return 0


def _say_unchained(unchained: Unchained | None) -> int:
    """Entries left in the inbox because chaining them failed: written, not hashed yet."""
    if unchained is None:
        return 0
    print(
        f"NOT CHAINED: {unchained.waiting} entries wait in the inbox, not hashed into the chain:"
        f" chaining them failed ({unchained.why})"
    )
    return 1


def _at(entry: Entry) -> float:
    try:
        return float(entry.at)
    except ValueError:
        return 0.0


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None

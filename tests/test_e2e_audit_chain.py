"""End to end: requests through the real stack write a hash chain that `shipbot audit verify`
checks; deleting one entry in Redis makes it fail at that entry; an export verifies offline,
and an edited line of it does not."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import redis

from bot.store.keys import Keys
from tests.stack import Stack, reply_text


def shipbot(bot: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """`shipbot ARGS` as an auditor runs it, with the stack's REDIS_URL."""
    command = [sys.executable, "-m", "bot.app.cli", *args]
    return subprocess.run(command, env=bot.env(), capture_output=True, text=True, timeout=60)


def trail(bot: Stack) -> list[tuple[str, dict[str, str]]]:
    client = redis.Redis.from_url(bot.redis.url, decode_responses=True)
    entries = client.xrange(Keys().audit())
    client.close()
    return entries


def a_few_requests(bot: Stack) -> None:
    for version in ("v1", "v2"):
        bot.deployed(f"web-h5 {version} to staging")


def test_the_trail_of_real_requests_verifies(bot: Stack) -> None:
    """A few deploys: verify exits 0 with how many entries and the head hash."""
    a_few_requests(bot)
    entries = trail(bot)
    done = shipbot(bot, "audit", "verify")
    assert 0 == done.returncode, done.stdout + done.stderr
    assert f"ok, {len(entries)} entries verified" in done.stdout
    assert entries[-1][1]["hash"] in done.stdout


def test_a_deleted_entry_fails_verify_at_that_entry(bot: Stack) -> None:
    """XDEL of the fifth entry: exit 1, saying entry 5 is missing after the fourth and naming
    the sixth by its stream id and position."""
    a_few_requests(bot)
    entries = trail(bot)
    client = redis.Redis.from_url(bot.redis.url)
    client.xdel(Keys().audit(), entries[4][0])
    client.close()
    done = shipbot(bot, "audit", "verify")
    assert 1 == done.returncode
    expected = f"entry 5 is missing: after {entries[3][0]} (seq 4) comes {entries[5][0]} (seq 6)"
    assert expected in done.stdout and "BROKEN at position 5" in done.stdout


def test_an_export_verifies_offline_and_an_edit_does_not(bot: Stack, tmp_path: Path) -> None:
    """Export today's entries as jsonl; verify --file (no Redis) passes with the head hash as
    the last; with one line's detail edited it fails at that line."""
    a_few_requests(bot)
    today = datetime.now(UTC).date().isoformat()
    export = tmp_path / "export.jsonl"
    args = ("audit", "export", "--since", today, "--format", "jsonl", "--output", str(export))
    assert 0 == shipbot(bot, *args).returncode
    lines = export.read_text().splitlines()
    entries = trail(bot)
    assert len(entries) == len(lines)
    offline = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "audit", "verify", "--file", str(export)],
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert 0 == offline.returncode, offline.stdout + offline.stderr
    assert entries[-1][1]["hash"] in offline.stdout
    edited = [json.loads(line) for line in lines]
    edited[2]["detail"] = "approved by nobody"
    export.write_text("".join(json.dumps(row) + "\n" for row in edited))
    broken = shipbot(bot, "audit", "verify", "--file", str(export))
    assert 1 == broken.returncode and "BROKEN at position 3" in broken.stdout
    assert f"entry {edited[2]['id']} (position 3, seq 3) was edited" in broken.stdout


def test_a_requests_audit_is_found_through_the_index(bot: Stack) -> None:
    """`/shipbot audit <request-id>` lists the request's entries (newest first)."""
    request_id = bot.deployed("web-h5 v1 to staging")
    a_few_requests(bot)
    answer = reply_text(bot.command(f"audit {request_id}", command="/shipbot"))
    assert answer.startswith(f"*Audit trail* of `{request_id}`")
    assert "*requested*" in answer.splitlines()[-1]


def test_entries_dropped_from_the_start_with_a_forged_anchor_fail_verify(bot: Stack) -> None:
    """XTRIM of the first three entries, and the anchor set to the third as retention would:
    no retention entry names that anchor, so verify exits 1 at the start, saying why."""
    a_few_requests(bot)
    entries = trail(bot)
    client = redis.Redis.from_url(bot.redis.url)
    client.xtrim(Keys().audit(), minid=entries[3][0], approximate=False)
    third = entries[2][1]
    forged = {"seq": "3", "hash": third["hash"], "id": entries[2][0], "trimmed_at": "1.0"}
    client.hset(Keys().audit_anchor(), mapping=forged)
    client.close()
    done = shipbot(bot, "audit", "verify")
    assert 1 == done.returncode, done.stdout + done.stderr
    assert "BROKEN at position 1" in done.stdout
    assert f"the anchor (seq 3, hash {third['hash']}) is named by no retention entry" in done.stdout

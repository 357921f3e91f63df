"""bench/load.py's checks that every request ended once: read back from Redis through the store,
the playbook's run file and the audit trail, after the load has drained.

Each check answers a list of violations (empty: it held), each a line for a person.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from bot.machine import ENDED, TABLE
from bot.models import DeployRequest, State
from bot.store.requests import RedisStore

# The audit names of the transitions that end a request (succeeded, failed, voided, ...).
FINAL_AUDIT = frozenset(t.audit for t in TABLE if t.next in ENDED)
SHOWN = 5  # violations listed per check; the rest are counted


async def final_states(store: RedisStore, requests: dict[str, DeployRequest | None]) -> list[str]:
    """Every request exists and is in a final state, and nothing in this bench fails."""
    found = []
    for request_id, request in requests.items():
        if request is None:
            found.append(f"{request_id}: not found in Redis")
        elif request.state not in ENDED:
            events, _ = await store.audit_of(request_id)
            trail = ", ".join(f"{e.event} by {e.actor}" for e in reversed(events))
            found.append(f"{request_id}: still {request.state.value}; audit: {trail}")
        elif request.state is not State.SUCCEEDED:
            found.append(f"{request_id}: {request.state.value} ({request.failure or 'no reason'})")
    return found


def approvals(requests: dict[str, DeployRequest | None], needed: int) -> list[str]:
    """Each request counted exactly the approvals clicked for it."""
    return [
        f"{request_id}: {len(r.approvers)} approvals counted, {needed} clicked"
        for request_id, r in requests.items()
        if r is not None and len(r.approvers) != needed
    ]


def runs(requests: dict[str, DeployRequest | None], run_file: Path) -> list[str]:
    """The playbook ran exactly once for each request that succeeded, at most once for any
    other, and never for a request nobody asked for."""
    lines = run_file.read_text().split() if run_file.exists() else []
    counted = Counter(lines[::2])  # each line: "<request id> <service>"
    found = [
        f"{rid}: the playbook ran, but no such request was made"
        for rid in counted.keys() - requests.keys()
    ]
    for request_id, request in requests.items():
        ran = counted[request_id]
        succeeded = request is not None and request.state is State.SUCCEEDED
        if (succeeded and ran != 1) or ran > 1:
            found.append(f"{request_id}: the playbook ran {ran} times")
    return found


async def audit(store: RedisStore, request_ids: Iterable[str]) -> list[str]:
    """One `requested` and exactly one final entry in the audit trail for each request, and
    none for a request nobody asked for."""
    finals, requested = Counter[str](), Counter[str]()
    after = "-"
    while entries := await store.audit_entries(after=after, count=1000):
        for entry in entries:
            finals[entry.request_id] += entry.event in FINAL_AUDIT
            requested[entry.request_id] += entry.event == "requested"
        after = entries[-1].id
    wanted = set(request_ids)
    found = [
        f"{rid}: requested in the audit trail, but not made here"
        for rid in requested.keys() - wanted
    ]
    for request_id in sorted(wanted):
        if (got := finals[request_id]) != 1:
            found.append(f"{request_id}: {got} final entries in the audit trail")
        if (asked := requested[request_id]) != 1:
            found.append(f"{request_id}: {asked} `requested` entries in the audit trail")
    return found


def audit_chain(env: dict[str, str]) -> list[str]:
    """`shipbot audit verify` finds the hash chain intact."""
    command = [sys.executable, "-m", "bot.app.cli", "audit", "verify"]
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return []
    return [f"shipbot audit verify exited {done.returncode}: {done.stdout}{done.stderr}".strip()]


def report(name: str, violations: list[str]) -> bool:
    """Print one check's verdict (and its first violations); True when it held."""
    print(f"  {'ok  ' if not violations else 'FAIL'} {name}")
    for line in violations[:SHOWN]:
        print(f"       {line}")
    if len(violations) > SHOWN:
        print(f"       … and {len(violations) - SHOWN} more")
    return not violations

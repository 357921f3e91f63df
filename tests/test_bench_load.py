"""bench/load.py end to end at a tiny scale: its exactly-once checks run and pass.

A smoke test of the benchmark's logic, not of its figures (nothing timed is asserted): two
services' lanes, four requests, eight approval clicks, two workers, real Redis, real HTTP and
real Ansible, in about 15 seconds on 2 CPUs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
CHECKS = (
    "the clients' requests were all acked",
    "every request ended, and succeeded",
    "each counted the approvals clicked",
    "the playbook ran once per success",
    "one final audit entry per request",
    "shipbot audit verify: the chain holds",
)


def test_a_small_load_ends_every_request_once() -> None:
    """Every request made under a small load ends succeeded, once: the benchmark exits 0 and
    prints each of its checks as held."""
    command = [sys.executable, str(ROOT / "bench" / "load.py")]
    command += ["--services", "2", "--approvals", "8", "--clients", "2", "--workers", "2"]
    command += ["--sleep", "0.2", "--stall", "60"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    held = [line.split("ok   ", 1)[1] for line in run.stdout.splitlines() if "  ok   " in line]
    assert (0, list(CHECKS)) == (run.returncode, held), run.stdout + run.stderr

"""The console demo, driven through its input and output like a person at a terminal."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.catalog import load_catalog
from bot.config import Settings
from bot.console import Console, build_console

DEMO = Path(__file__).parent.parent / "examples" / "demo" / "catalog.yaml"


class Terminal:
    """A console session: type a line, read what appeared since the last line."""

    def __init__(self, console: Console, out: io.StringIO) -> None:
        self.console, self.out, self.seen = console, out, 0

    async def type(self, line: str, answer: str = "") -> str:
        await self.console.handle(line, io.StringIO(answer + "\n"))
        text, self.seen = self.out.getvalue()[self.seen :], len(self.out.getvalue())
        return text

    def button(self, label: str) -> str:
        """The number of the newest button with this label on screen."""
        return re.findall(rf"\[(\d+)\] {label}", self.out.getvalue())[-1]


@pytest.fixture
def terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Terminal]:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    console = build_console(Settings(redis_url=""), load_catalog(DEMO), "U0DEV", out)
    yield Terminal(console, out)


async def test_staging_deploy_puts_the_release_on_disk(terminal: Terminal, tmp_path: Path) -> None:
    """`/deploy web-h5 v1.4.0 to staging` deploys the demo site: releases/v1.4.0 and current."""
    output = await terminal.type("/deploy web-h5 v1.4.0 to staging")
    site = tmp_path / "demo-site" / "staging"
    assert "Released web-h5 v1.4.0 to staging" in output
    assert "releases/v1.4.0" == str((site / "current").readlink())
    assert "v1.4.0" in (site / "current" / "index.html").read_text()


async def test_running_cards_offer_no_stop_button(terminal: Terminal) -> None:
    """The console runs a deploy to its end before reading on, so Stop is never offered."""
    output = await terminal.type("/deploy web-h5 v1.4.0 to staging")
    assert "running" in output and "] Stop" not in output


async def test_one_person_plays_requester_and_two_approvers(
    terminal: Terminal, tmp_path: Path
) -> None:
    """Switching identity with `as`, two approvers approve and prod is deployed."""
    await terminal.type("/deploy web-h5 v2.0.0 to prod")
    await terminal.type("as U0ALICE")
    assert "1 of 2" in await terminal.type(terminal.button("Approve"))
    await terminal.type("as U0BOB")
    output = await terminal.type(terminal.button("Approve"))
    assert "Released web-h5 v2.0.0 to prod" in output
    for datacenter in ("dc-a", "dc-b"):
        current = tmp_path / "demo-site" / "prod" / datacenter / "current"
        assert "releases/v2.0.0" == str(current.readlink())


async def test_requester_approving_is_told_why_not(terminal: Terminal) -> None:
    """The requester pressing Approve sees why it doesn't count."""
    await terminal.type("/deploy web-h5 v2.0.0 to prod")
    assert "can't approve it" in await terminal.type(terminal.button("Approve"))


async def test_reject_asks_for_confirmation(terminal: Terminal) -> None:
    """Reject needs a `y`: `n` leaves the request alone, `y` ends it."""
    await terminal.type("/deploy web-h5 v2.0.0 to prod")
    await terminal.type("as U0ALICE")
    reject = terminal.button("Reject")
    declined = await terminal.type(reject, answer="n")
    assert "not pressed" in declined and "Rejected" not in declined
    assert "Rejected" in await terminal.type(reject, answer="y")


async def test_bad_input_gets_a_message_not_a_traceback(terminal: Terminal) -> None:
    """Bad versions, unknown services and missing buttons are explained."""
    output = await terminal.type("/deploy web-h5 v1;ls to prod")
    output += await terminal.type("/deploy nope v1 to prod")
    output += await terminal.type("9")
    assert "is not a valid version" in output
    assert "Unknown service `nope`" in output
    assert "no button [9]" in output


async def test_unknown_lines_show_how_to_use_the_console(terminal: Terminal) -> None:
    """Anything that is not a command, a number or `as` shows the console's help."""
    assert "press the button with that number" in await terminal.type("what now")


def test_shipbot_console_runs_from_the_command_line(tmp_path: Path) -> None:
    """`shipbot console` reads lines from standard input and exits at its end."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "console", "--catalog", str(DEMO)],
        input="/deploy web-h5 v1.4.0 to staging\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert 0 == result.returncode
    assert "Released web-h5 v1.4.0 to staging" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


async def test_rollback_puts_the_previous_release_back_on_disk(
    terminal: Terminal, tmp_path: Path
) -> None:
    """Deploy v1.4.0, then v1.5.0, then /rollback: `current` points at releases/v1.4.0 again."""
    await terminal.type("/deploy web-h5 v1.4.0 to staging")
    await terminal.type("/deploy web-h5 v1.5.0 to staging")
    output = await terminal.type("/rollback web-h5 staging")
    assert "Rolled back web-h5 in staging to v1.4.0 (from v1.5.0)" in output
    assert "releases/v1.4.0" == str((tmp_path / "demo-site/staging/current").readlink())

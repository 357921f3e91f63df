"""The console demo, driven through its input and output like a person at a terminal."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from bot.app.console import Console, banner, build_console, state_note
from bot.app.console_render import readable
from bot.catalog.model import load_catalog
from bot.catalog.settings import Settings
from tests.waiting import until

DEMO = Path(__file__).parent.parent / "examples" / "demo" / "catalog.yaml"


class Terminal:
    """A console session: type a line, read what appeared since the last line."""

    def __init__(self, console: Console, out: io.StringIO) -> None:
        self.console, self.out, self.seen = console, out, 0

    async def type(self, line: str, answer: str = "") -> str:
        async def ask() -> str:
            return answer + "\n"

        await self.console.handle(line, ask)
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


async def test_running_cards_offer_stop_as_ctrl_c(terminal: Terminal) -> None:
    """The console reads no line while a deploy runs, so its Stop button is Ctrl-C."""
    output = await terminal.type("/deploy web-h5 v1.4.0 to staging")
    assert ["[Ctrl-C] Stop"] == re.findall(r"\[[^]]+\] Stop", output)


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


async def test_reject_asks_why(terminal: Terminal) -> None:
    """Reject's modal asks why: nothing typed closes it and leaves the request alone; a
    reason ends it, and the card shows the reason."""
    await terminal.type("/deploy web-h5 v2.0.0 to prod")
    await terminal.type("as U0ALICE")
    reject = terminal.button("Reject")
    closed = await terminal.type(reject, answer="")
    assert "Why?" in closed and "nothing done" in closed and "Rejected" not in closed
    rejected = await terminal.type(reject, answer="the change window is tomorrow")
    assert "Rejected" in rejected and "the change window is tomorrow" in rejected


async def test_bad_input_gets_a_message_not_a_traceback(terminal: Terminal) -> None:
    """Bad versions, unknown services and missing buttons are explained."""
    output = await terminal.type("/deploy web-h5 v1;ls to prod")
    output += await terminal.type("/deploy nope v1 to prod")
    output += await terminal.type("9")
    assert "is not a valid version" in output
    assert "Unknown service `nope`" in output
    assert "no button [9]" in output


async def test_unknown_lines_get_a_one_line_hint(terminal: Terminal) -> None:
    """Anything that is not a command, a number, `as`, help or quit gets one line saying what is."""
    expected = '» type a /command, a button number, "as U0ALICE", help or quit\n'
    assert expected == await terminal.type("what now")


async def test_help_shows_how_to_use_the_console(terminal: Terminal) -> None:
    """`help` prints the banner."""
    assert "press the button with that number" in await terminal.type("help")


async def test_as_refuses_what_is_not_a_slack_user_id(terminal: Terminal) -> None:
    """`as bob` says why not and leaves you who you were."""
    output = await terminal.type("as bob")
    assert "'bob' is not a Slack user ID" in output
    assert "U0DEV" == terminal.console.user


async def test_as_takes_a_slack_user_id(terminal: Terminal) -> None:
    """`as W0123ABC` (U… or W…, capitals and digits) makes you that user."""
    await terminal.type("as W0123ABC")
    assert "W0123ABC" == terminal.console.user


def test_banner_says_state_is_in_memory_and_lost_on_quit() -> None:
    """Without REDIS_URL, the banner says where state is and that quitting loses it."""
    assert "in memory" in banner("U0DEV", state_note(Settings(redis_url="")))
    assert "lost when you quit" in banner("U0DEV", state_note(Settings(redis_url="")))


def test_banner_names_the_redis_prefix_when_redis_url_is_set() -> None:
    """With REDIS_URL, the banner names the key prefix the console's state is kept under."""
    settings = Settings(redis_url="redis://127.0.0.1:1/0", shipbot_key_prefix="acme-console")
    assert "under the key prefix 'acme-console'" in banner("U0DEV", state_note(settings))


async def test_a_card_prints_whole_once_then_only_its_changes(terminal: Terminal) -> None:
    """A deploy's card is updated several times, but its facts (e.g. the service) print once."""
    output = await terminal.type("/deploy web-h5 v1.4.0 to staging")
    assert 1 == output.count("*Service*")
    assert "updated: Deploy web-h5 v1.4.0 → staging" in output


async def test_an_update_prints_the_lines_that_changed(terminal: Terminal) -> None:
    """An approval prints the card's new status line, not the card again."""
    await terminal.type("/deploy web-h5 v2.0.0 to prod")
    await terminal.type("as U0ALICE")
    output = await terminal.type(terminal.button("Approve"))
    lines = output.splitlines()
    assert 2 == len(lines) and "updated: Deploy web-h5 v2.0.0 → prod" in lines[0]
    assert "1 of 2" in lines[1]


async def test_buttons_keep_their_numbers_while_their_card_carries_them(
    terminal: Terminal,
) -> None:
    """After the first approval, the Approve button printed first still approves."""
    await terminal.type("/deploy web-h5 v2.0.0 to prod")
    approve = terminal.button("Approve")
    await terminal.type("as U0ALICE")
    await terminal.type(approve)
    await terminal.type("as U0BOB")
    assert "Released web-h5 v2.0.0 to prod" in await terminal.type(approve)


async def test_buttons_that_left_their_card_are_said_to_be_gone(terminal: Terminal) -> None:
    """Cancel takes the buttons off the card: the console says so, and their numbers are dead."""
    await terminal.type("/deploy web-h5 v2.0.0 to prod")
    output = await terminal.type(terminal.button("Cancel"))
    assert "(no buttons now)" in output
    assert "no button [1]" in await terminal.type("1")


async def test_mentions_print_as_names(terminal: Terminal) -> None:
    """The card's approvers print as @U0ALICE, not Slack's <@U0ALICE>."""
    output = await terminal.type("/deploy web-h5 v2.0.0 to prod")
    assert "Approvers: @U0ALICE, @U0BOB, @U0CAROL." in output
    assert "<@" not in output


@pytest.mark.parametrize(
    ("slack", "shown"),
    [
        ("<@U0DEV>", "@U0DEV"),
        ("<@U0DEV|dev>", "@dev"),
        ("<!subteam^S0CHANGE>", "@S0CHANGE"),
        ("<!subteam^S0CHANGE|@change>", "@change"),
        ("<!here>", "@here"),
        (
            "<https://x.example/p?a=1&amp;b=2|the pipeline>",
            "the pipeline (https://x.example/p?a=1&b=2)",
        ),
        ("<https://x.example>", "https://x.example"),
        ("<#C123>", "#C123"),
        ("<#C123|general>", "#general"),
        ("a &lt;b&gt; &amp;lt; c", "a <b> &lt; c"),
    ],
)
def test_slack_markup_is_spelled_out(slack: str, shown: str) -> None:
    """Mentions, user groups, channels and links read as text; escapes are undone once."""
    assert shown == readable(slack)


def test_shipbot_console_runs_from_the_command_line(tmp_path: Path) -> None:
    """`shipbot console` reads lines from standard input and exits at its end."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "bot.app.cli", "console", "--catalog", str(DEMO)],
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


class ConsoleProcess:
    """`shipbot console` as a real process on pipes: type lines, wait for output, press Ctrl-C."""

    def __init__(self, catalog: Path, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.app.cli", "console", "--catalog", str(catalog)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        self.output, self.errors, self.seen = bytearray(), bytearray(), 0
        self.news = threading.Condition()
        for pipe, into in ((self.process.stdout, self.output), (self.process.stderr, self.errors)):
            threading.Thread(target=self._collect, args=(pipe, into), daemon=True).start()

    def _collect(self, pipe: IO[bytes], into: bytearray) -> None:
        while chunk := os.read(pipe.fileno(), 4096):
            with self.news:
                into.extend(chunk)
                self.news.notify_all()

    def expect(self, marker: str, timeout: float = 60) -> str:
        """Wait until ``marker`` is printed after what was expected before; what came until it."""
        with self.news:
            found = self.news.wait_for(
                lambda: self.output.find(marker.encode(), self.seen) >= 0, timeout
            )
            assert found, f"no {marker!r} in:\n{self.text}"
            end = self.output.find(marker.encode(), self.seen) + len(marker)
            shown, self.seen = self.output[self.seen : end].decode(), end
        return shown

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def exit_code(self, timeout: float = 30) -> int:
        return self.process.wait(timeout)

    @property
    def text(self) -> str:
        return (self.output + self.errors).decode(errors="replace")


@pytest.fixture
def console_process(tmp_path: Path) -> Iterator[Callable[[Path], ConsoleProcess]]:
    started: list[ConsoleProcess] = []

    def start(catalog: Path) -> ConsoleProcess:
        started.append(ConsoleProcess(catalog, tmp_path))
        return started[-1]

    yield start
    for console in started:
        if console.process.poll() is None:
            console.process.kill()
            console.process.wait()


GATED_SITE = f"""
# The demo site (see examples/demo/deploy/site.yml), then a wait until the file
# gate_file.<action> exists: the test holds a deploy, or a rollback, open until it is stopped.
- ansible.builtin.import_playbook: {DEMO.parent / "deploy" / "site.yml"}

- name: Hold the run until its gate opens
  hosts: all
  gather_facts: false
  tasks:
    - name: wait for gate
      ansible.builtin.wait_for:
        path: "{{{{ gate_file }}}}.{{{{ shipbot_action }}}}"
        timeout: 60
        sleep: 1
"""


def gated_site(directory: Path) -> Path:
    """A catalog whose web-h5 staging deploys the demo site and then waits at a gate."""
    (directory / "gated.yml").write_text(GATED_SITE)
    catalog = directory / "catalog.yaml"
    catalog.write_text(
        f"""
notify: {{releases_channel: C0RELEASES}}
services:
  web-h5:
    deployer: ansible
    playbook: gated.yml
    vars: {{site_dir: demo-site, gate_file: "{directory / "gate"}"}}
    environments:
      staging: {{approvals: 0}}
"""
    )
    return catalog


def wait_for_link(link: Path, target: str, timeout: float = 60) -> None:
    """Wait until ``link`` points at ``target``."""
    deadline = time.monotonic() + timeout
    while not (link.is_symlink() and target == str(link.readlink())):
        assert time.monotonic() < deadline, f"{link} never pointed at {target}"
        time.sleep(0.1)


def test_ctrl_c_at_the_prompt_leaves_at_once(
    console_process: Callable[[Path], ConsoleProcess],
) -> None:
    """Ctrl-C at the prompt ends the console with a goodbye and exit code 0, no traceback."""
    console = console_process(DEMO)
    console.expect("U0DEV> ")
    console.interrupt()
    assert 0 == console.exit_code(timeout=10)
    assert "» bye" in console.text and "Traceback" not in console.text


def test_ctrl_c_during_a_deploy_stops_it_and_rolls_back(
    console_process: Callable[[Path], ConsoleProcess], tmp_path: Path
) -> None:
    """Ctrl-C while v2 is being deployed stops it like Stop: `current` is back on v1, the
    console says so and shows the prompt again."""
    (tmp_path / "gate.deploy").touch()
    (tmp_path / "gate.rollback").touch()
    console = console_process(gated_site(tmp_path))
    console.type("/deploy web-h5 v1 to staging")
    console.expect("Released web-h5 v1 to staging")
    (tmp_path / "gate.deploy").unlink()
    console.type("/deploy web-h5 v2 to staging")
    current = tmp_path / "demo-site" / "staging" / "current"
    wait_for_link(current, "releases/v2")  # switched; now waiting at the gate
    console.interrupt()
    said = console.expect("was stopped and has ended")
    console.expect("U0DEV> ")
    assert "releases/v1" == str(current.readlink())
    assert "Ctrl-C: Stopping" in said
    console.type("quit")
    assert 0 == console.exit_code()
    assert "Traceback" not in console.text


def test_a_second_ctrl_c_leaves_without_waiting_for_the_rollback(
    console_process: Callable[[Path], ConsoleProcess], tmp_path: Path
) -> None:
    """Ctrl-C again while the stopped deploy rolls back: the console leaves with 130 and says
    what it left unfinished, without a traceback."""
    (tmp_path / "gate.deploy").touch()
    console = console_process(gated_site(tmp_path))
    console.type("/deploy web-h5 v1 to staging")
    console.expect("Released web-h5 v1 to staging")
    (tmp_path / "gate.deploy").unlink()
    console.type("/deploy web-h5 v2 to staging")
    current = tmp_path / "demo-site" / "staging" / "current"
    wait_for_link(current, "releases/v2")
    console.interrupt()
    wait_for_link(current, "releases/v1")  # the rollback switched back; waiting at its gate
    console.interrupt()
    assert 130 == console.exit_code(timeout=30)
    assert "quitting without waiting" in console.text and "Traceback" not in console.text


async def test_ctrl_c_as_someone_who_may_not_stop_asks_as_the_requester(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while you are a stranger to the deploy stops it all the same, as its requester."""
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    console = build_console(
        Settings(redis_url=""), load_catalog(gated_site(tmp_path)), "U0DEV", out
    )
    deploying = asyncio.create_task(console.handle("/deploy web-h5 v1 to staging"))
    request_id = await until(lambda: console.running, "a deploy running", timeout=60)
    store = console.services.store
    current = tmp_path / "demo-site/staging/current"
    await until(current.is_symlink, "the deploy claimed and running", timeout=60)
    console.user = "U0STRANGER"
    await console.stop_running()
    await deploying
    assert "U0DEV" == await store.stopped_by(request_id)
    assert "U0STRANGER may not stop" in out.getvalue()

"""The `shipbot` command line: check, --help, and clear errors for missing settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from bot.catalog.settings import Settings

DEMO = Path(__file__).parent.parent / "examples" / "demo" / "catalog.yaml"
README = Path(__file__).parent.parent / "README.md"


def shipbot(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "REDIS_", "SHIPBOT_", "GITLAB_", "ARGOCD_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.app.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=60,
    )


def test_check_accepts_the_demo_catalog() -> None:
    """`shipbot check` on a valid catalog says ok and exits 0."""
    result = shipbot("check", str(DEMO))
    assert (0, f"{DEMO}: ok\n") == (result.returncode, result.stdout)


def test_check_prints_each_error_with_its_line(tmp_path: Path) -> None:
    """Every problem is printed as file:line:column: location: message; the exit code is 1."""
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "notify: {releases_channel: C0REL}\n"
        "services:\n"
        "  web:\n"
        "    deployer: ansible\n"
        "    playbook: missing.yml\n"
        "    environments:\n"
        "      prod: {aprovals: 0}\n"
    )
    result = shipbot("check", str(catalog))
    lines = result.stderr.splitlines()
    assert 1 == result.returncode
    assert 2 == len(lines)
    assert lines[0].startswith(f"{catalog}:5:5: services.web.playbook")
    assert lines[1].startswith(f"{catalog}:7:14: services.web.environments.prod.aprovals")


def test_serve_without_settings_names_what_is_missing() -> None:
    """`shipbot serve` with nothing set exits non-zero naming each missing variable."""
    result = shipbot("serve")
    assert 0 != result.returncode
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "REDIS_URL", "SHIPBOT_CATALOG"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_a_broken_catalog_refuses_to_start(tmp_path: Path) -> None:
    """A catalog that does not validate stops `shipbot worker` with the errors, not a trace."""
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("services: []\n")
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "SHIPBOT_CATALOG": str(catalog),
    }
    result = shipbot("worker", env=env)
    assert 0 != result.returncode
    assert "the catalog is not valid" in result.stderr and "Traceback" not in result.stderr


def test_a_bad_log_format_stops_the_process_naming_the_setting() -> None:
    """SHIPBOT_LOG_FORMAT other than text or json: exit 1 with the variable and the choices,
    before anything else is checked, and no traceback."""
    result = shipbot("worker", env={"SHIPBOT_LOG_FORMAT": "xml"})
    expected = (
        "shipbot: invalid settings (see the README):\n"
        "SHIPBOT_LOG_FORMAT: Input should be 'text' or 'json'"
    )
    assert (1, expected) == (result.returncode, result.stderr.strip())


def test_the_log_format_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """SHIPBOT_LOG_FORMAT=JSON means json; unset means text."""
    monkeypatch.setenv("SHIPBOT_LOG_FORMAT", " JSON")
    chosen = Settings.load().shipbot_log_format
    monkeypatch.delenv("SHIPBOT_LOG_FORMAT")
    assert ("json", "text") == (chosen, Settings.load().shipbot_log_format)


def test_help_lists_every_command() -> None:
    """`shipbot --help` names serve, socket, worker, console and check."""
    result = shipbot("--help")
    for command in ("serve", "socket", "worker", "console", "check"):
        assert command in result.stdout


def test_worker_names_the_settings_its_deployers_need(tmp_path: Path) -> None:
    """A catalog with gitlab and argocd services needs their URLs and tokens: the worker
    refuses to start and names each one missing."""
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "notify: {releases_channel: C0REL}\n"
        "services:\n"
        "  web: {deployer: gitlab, gitlab: {project: web/h5}, environments: {prod: {}}}\n"
        "  risk: {deployer: argocd, argocd: {application: risk}, environments: {prod: {}}}\n"
    )
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "REDIS_URL": "redis://127.0.0.1:9/0"}
    result = shipbot("worker", env={**env, "SHIPBOT_CATALOG": str(catalog)})
    expected = (
        "shipbot: the catalog's deployers need: GITLAB_URL, GITLAB_TOKEN, ARGOCD_TOKEN, ARGOCD_URL"
    )
    assert (1, expected) == (result.returncode, result.stderr.strip())


def test_version_prints_the_package_version() -> None:
    """`shipbot --version` prints the installed package's version."""
    result = shipbot("--version")
    assert (0, f"shipbot {version('shipbot')}\n") == (result.returncode, result.stdout)


def readme_environment() -> dict[str, set[str]]:
    """The README's Environment table: each variable and the commands it says use it."""
    used_by: dict[str, set[str]] = {}
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`[A-Z_]+`", cells[0]):
            commands = {c.strip() for c in cells[1].split(",")}
            used_by[cells[0].strip("`")] = ALL_COMMANDS if commands == {"all"} else commands
    return used_by


ALL_COMMANDS = {"serve", "socket", "worker", "console"}


@pytest.mark.parametrize("command", sorted(ALL_COMMANDS))
def test_command_help_names_the_settings_the_readme_lists_for_it(command: str) -> None:
    """`shipbot <command> --help` names every variable the README's Environment table
    says that command uses, and no variable the table does not list for it."""
    result = shipbot(command, "--help")
    named = set(re.findall(r"\b(?:SLACK|REDIS|SHIPBOT|GITLAB|ARGOCD)_[A-Z_]+\b", result.stdout))
    expected = {name for name, users in readme_environment().items() if command in users}
    assert expected == named


@pytest.mark.parametrize("command", [*sorted(ALL_COMMANDS), "check"])
def test_command_help_has_a_description(command: str) -> None:
    """Each command's --help says what it does, between the usage line and the options."""
    paragraphs = shipbot(command, "--help").stdout.split("\n\n")
    assert not paragraphs[1].startswith(("options:", "positional arguments:"))

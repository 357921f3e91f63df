"""The Slack app manifest in the repository declares what the code answers and needs."""

from __future__ import annotations

from pathlib import Path

import yaml

from handlers.routes import COMMANDS

MANIFEST = yaml.safe_load((Path(__file__).parent.parent / "slack-app-manifest.yml").read_text())


def test_every_command_shipbot_answers_is_in_the_manifest() -> None:
    declared = [c["command"] for c in MANIFEST["features"]["slash_commands"]]
    assert sorted(COMMANDS) == sorted(declared)


def test_the_metrics_chart_upload_has_its_scope() -> None:
    """files.getUploadURLExternal and files.completeUploadExternal need files:write."""
    assert "files:write" in MANIFEST["oauth_config"]["scopes"]["bot"]

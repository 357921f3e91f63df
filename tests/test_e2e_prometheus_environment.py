"""End to end: a PROMETHEUS_MULTIPROC_DIR already in `shipbot serve`'s environment is ignored
(README, Prometheus): serve starts, answers Slack and counts the request, whether that
directory exists or not and however many HTTP processes it runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import write_catalog
from tests.fakes import FakeSlack, RedisServer, slash_command
from tests.stack import Stack
from tests.test_e2e_prometheus_processes import slack_requests


@pytest.fixture(
    params=[(1, True), (1, False), (2, False)], ids=["1-existing", "1-missing", "2-missing"]
)
def preset(
    request: pytest.FixtureRequest, tmp_path: Path, fake_slack: FakeSlack
) -> Iterator[tuple[Stack, Path]]:
    """`shipbot serve --workers N` (no worker) with PROMETHEUS_MULTIPROC_DIR set to a
    directory that exists (and stays empty) or not."""
    processes, exists = request.param
    preset_dir = tmp_path / "preset"
    if exists:
        preset_dir.mkdir()
    fake_slack.reset()
    with RedisServer() as server:
        settings = {"PROMETHEUS_MULTIPROC_DIR": str(preset_dir)}
        stack = Stack(tmp_path, server, fake_slack, write_catalog(tmp_path), settings=settings)
        yield stack.start(worker=False, processes=processes), preset_dir
        stack.stop()


def test_a_preset_multiprocess_dir_is_ignored(preset: tuple[Stack, Path]) -> None:
    """A signed request gets 200 and the next scrape counts it; nothing is written to the
    preset directory."""
    stack, preset_dir = preset
    status = stack.send(slash_command("/shipbot", "help", "U0DEV")).status_code
    scrape = httpx.get(f"{stack.url}/metrics", timeout=5)
    written = sorted(p.name for p in preset_dir.iterdir()) if preset_dir.exists() else []
    assert (200, 200, 1.0, []) == (
        status,
        scrape.status_code,
        slack_requests(scrape.text),
        written,
    )

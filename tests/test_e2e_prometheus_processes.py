"""End to end: `shipbot serve --workers 2` counts Slack requests across its HTTP processes
(prometheus_client's multiprocess mode), in a directory of its own that it removes at exit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import write_catalog
from tests.fakes import FakeSlack, RedisServer, slash_command
from tests.stack import Stack

REQUESTS = 12
SCRAPES = 20


@pytest.fixture
def two_processes(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[Stack]:
    """`shipbot serve --workers 2` (no worker) over a redis-server of its own; its temporary
    directory is ``tmp/``."""
    fake_slack.reset()
    (tmp_path / "tmp").mkdir()
    with RedisServer() as server:
        settings = {"TMPDIR": str(tmp_path / "tmp")}
        stack = Stack(tmp_path, server, fake_slack, write_catalog(tmp_path), settings=settings)
        yield stack.start(worker=False, processes=2)
        stack.stop()


def slack_requests(text: str) -> float:
    """shipbot_slack_requests_total, over every status."""
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        if f.name == "shipbot_slack_requests"
        for s in f.samples
        if s.name == "shipbot_slack_requests_total"
    )


def answered(stack: Stack) -> tuple[int, float]:
    """One scrape, on a connection of its own (so either process may take it)."""
    answer = httpx.get(f"{stack.url}/metrics", timeout=5, headers={"Connection": "close"})
    return answer.status_code, slack_requests(answer.text)


def test_every_process_answers_the_replicas_total(two_processes: Stack) -> None:
    """K signed requests, then scrapes on fresh connections: every scrape shows K, whichever
    process answered it."""
    for _ in range(REQUESTS):
        assert 200 == two_processes.send(slash_command("/shipbot", "help", "U0DEV")).status_code
    scrapes = [answered(two_processes) for _ in range(SCRAPES)]
    assert [(200, float(REQUESTS))] * SCRAPES == scrapes


def test_the_counters_directory_is_under_tmpdir_and_removed_at_exit(
    two_processes: Stack, tmp_path: Path
) -> None:
    """While serving, one shipbot-prometheus-* directory in $TMPDIR holds the counters'
    files; once serve has stopped, it is gone."""
    two_processes.send(slash_command("/shipbot", "help", "U0DEV"))
    during = [p.name.startswith("shipbot-prometheus-") for p in (tmp_path / "tmp").iterdir()]
    files = [f.suffix for d in (tmp_path / "tmp").iterdir() for f in d.iterdir()]
    two_processes.stop()
    assert ([True], True, []) == (during, ".db" in files, list((tmp_path / "tmp").iterdir()))

"""The environment's health check, as far as it speaks to people: its URL without credentials."""

from __future__ import annotations

import contextlib

import pytest

from bot.ports.deployer import DeployFailed
from integrations.health import wait_healthy
from tests.fakes.http_server import bound_socket
from tests.fakes.recorders import ProgressRecorder


async def test_a_failed_check_names_its_url_without_credentials() -> None:
    """A health check URL with user:password@ (basic auth) is named without them."""
    with contextlib.closing(bound_socket()) as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/health"
        with pytest.raises(DeployFailed) as failure:
            await wait_healthy(
                url.replace("http://", "http://probe:s3cret@"), datacenter="dc-a",
                report=ProgressRecorder(), timeout=1, successes=1, interval=0, max_attempts=1,
            )  # fmt: skip
    expected = (
        f"health check {url} did not answer 2xx 1 times in a row within 1 attempts"
        " (last: unreachable (ClientConnectorError))"
    )
    assert expected == str(failure.value)

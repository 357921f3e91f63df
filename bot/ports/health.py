"""The environment's health check, as the domain asks for it; integrations/health.py answers."""

from __future__ import annotations

from typing import Protocol

from bot.ports.deployer import ProgressSink


class HealthProbe(Protocol):
    async def __call__(
        self,
        url: str,
        *,
        datacenter: str,
        report: ProgressSink,
        timeout: float,  # noqa: ASYNC109 (each probe's HTTP timeout, not the whole wait's)
        successes: int,
        interval: float,
        max_attempts: int,
    ) -> None:
        """Return once ``url`` answered 2xx ``successes`` times in a row; raise DeployFailed
        (the target may be unhealthy) when it does not within ``max_attempts`` attempts."""

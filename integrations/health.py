"""The environment's health check: an HTTP GET that must answer 2xx a number of times in a row.

Upstream: any HTTP endpoint the team exposes (e.g. Spring Boot Actuator's /actuator/health,
https://docs.spring.io/spring-boot/reference/actuator/endpoints.html#actuator.endpoints.health).
Transport errors become :class:`DeployFailed` with a message a person can act on.
"""

from __future__ import annotations

import asyncio

import aiohttp

from bot.ports.deployer import DeployFailed, Progress, ProgressSink
from integrations.urls import without_credentials


async def wait_healthy(
    url: str,
    *,
    datacenter: str,
    report: ProgressSink,
    timeout: float,  # noqa: ASYNC109 (each probe's HTTP timeout, not the whole wait's)
    successes: int,
    interval: float,
    max_attempts: int,
) -> None:
    """Return once ``url`` answered 2xx ``successes`` times in a row; raise DeployFailed if
    that does not happen within ``max_attempts`` attempts."""
    streak, last = 0, ""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        for attempt in range(1, max_attempts + 1):
            ok, last = await _probe(session, url)
            streak = streak + 1 if ok else 0
            await report(Progress(datacenter, f"health check {attempt}: {last}"))
            if streak >= successes:
                return
            await asyncio.sleep(interval)
    raise DeployFailed(
        f"health check {without_credentials(url)} did not answer 2xx {successes} times in a row "
        f"within {max_attempts} attempts (last: {last})"
    )


async def _probe(session: aiohttp.ClientSession, url: str) -> tuple[bool, str]:
    try:
        async with session.get(url, allow_redirects=False) as response:
            return 200 <= response.status < 300, f"HTTP {response.status}"
    except TimeoutError:
        return False, "timed out"
    except aiohttp.ClientError as error:
        return False, f"unreachable ({type(error).__name__})"

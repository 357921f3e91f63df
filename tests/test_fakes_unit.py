"""The unit tests' own fakes behave as their docstrings say: Blips (Redis failing on chosen
calls) and the recording deployer and scripted health check of a deploy run."""

from __future__ import annotations

import asyncio

import pytest

from bot.ports.deployer import DeployFailed, DeployJob, DeployUnreachable, Progress
from bot.ports.store import StoreUnavailable
from tests.fakes.blips import Blip, Blips
from tests.fakes.deployers import RecordingDeployer, ScriptedHealth


class Counter:
    """Something to put blips around: each call of ``add`` is one piece of work done."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.name = "counter"

    async def add(self, item: str) -> str:
        self.done.append(item)
        return item

    async def start(self) -> None:
        self.done.append("start")


async def test_the_nth_call_blips_before_doing_its_work() -> None:
    """Blip("add", nth=2): the second call fails and does nothing; the others go through."""
    blips = Blips(Blip("add", nth=2))
    inner = Counter()
    counter = blips.around(inner)
    await counter.add("a")
    with pytest.raises(StoreUnavailable):
        await counter.add("b")
    await counter.add("c")
    assert (["a", "c"], 1, 3) == (inner.done, blips.failed["add"], blips.calls["add"])


async def test_a_lost_answer_does_the_work_then_fails() -> None:
    """lost_answer: the work is done, as when Redis ran a script whose answer never came."""
    blips = Blips(Blip("add", lost_answer=True))
    inner = Counter()
    with pytest.raises(StoreUnavailable):
        await blips.around(inner).add("a")
    assert ["a"] == inner.done


async def test_a_blip_counts_only_after_its_trigger_and_for_its_argument() -> None:
    """after= and arg=: only calls made once ``after`` was called, with that first argument."""
    blips = Blips(Blip("add", after="start", arg="x"))
    inner = Counter()
    counter = blips.around(inner)
    await counter.add("x")  # before the trigger: not counted
    await counter.start()
    await counter.add("y")  # another argument: not counted
    with pytest.raises(StoreUnavailable):
        await counter.add("x")
    assert ["x", "start", "y"] == inner.done


async def test_a_method_down_fails_until_it_is_back_and_attributes_pass() -> None:
    """``down``: every call fails until removed; plain attributes are the inner object's."""
    blips = Blips()
    counter = blips.around(Counter())
    blips.down.add("add")
    with pytest.raises(StoreUnavailable):
        await counter.add("a")
    blips.down.discard("add")
    assert ("b", "counter") == (await counter.add("b"), counter.name)


def job(datacenter: str, action: str = "deploy") -> DeployJob:
    return DeployJob("d-1", "web-h5", "v2", "prod", datacenter, action)  # type: ignore[arg-type]  # a JobAction


async def test_the_recording_deployer_does_what_its_plan_says() -> None:
    """ok by default; fail, refuse and crash raise what they stand for; each job recorded."""
    deployer = RecordingDeployer(plan={"deploy dc-b": "fail", "deploy dc-c": "refuse"})
    deployer.plan["rollback dc-a"] = "crash"
    said: list[Progress] = []

    async def report(progress: Progress) -> None:
        said.append(progress)

    await deployer.run(job("dc-a"), report)
    with pytest.raises(DeployFailed):
        await deployer.run(job("dc-b"), report)
    with pytest.raises(DeployUnreachable):
        await deployer.run(job("dc-c"), report)
    with pytest.raises(RuntimeError):
        await deployer.run(job("dc-a", "rollback"), report)
    assert ["deploy dc-a v2", "deploy dc-b v2", "deploy dc-c v2", "rollback dc-a v2"] == (
        deployer.jobs
    )
    assert ["dc-a", "dc-b", "dc-c", "dc-a"] == [progress.datacenter for progress in said]


async def test_a_hanging_job_waits_until_cancelled_and_says_so() -> None:
    """hang: the job runs until cancelled; ``started`` tells when it began."""
    deployer = RecordingDeployer(plan={"deploy dc-a": "hang"})

    async def report(progress: Progress) -> None:
        return None

    running = asyncio.create_task(deployer.run(job("dc-a"), report))
    await deployer.started("deploy dc-a")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert ["deploy dc-a"] == deployer.cancelled


async def test_the_scripted_health_check_fails_only_the_sick() -> None:
    """Data centres in ``sick`` fail with their reason; every check is recorded."""
    health = ScriptedHealth(sick={"dc-b": "HTTP 503"})

    async def report(progress: Progress) -> None:
        return None

    async def check(datacenter: str) -> None:
        url = f"http://health/{datacenter}"
        await health(
            url, datacenter=datacenter, report=report, timeout=1.0, successes=1, interval=0.0,
            max_attempts=1,
        )  # fmt: skip

    await check("dc-a")
    with pytest.raises(DeployFailed, match="HTTP 503"):
        await check("dc-b")
    assert ["dc-a", "dc-b"] == health.checked

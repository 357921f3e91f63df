"""What the parts of one run share: the request, its environment, its board and its stop watch,
and how each target's deployer is reached and told what to do."""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog.model import Environment
from bot.domain.progress import Board, StepEvent
from bot.domain.run import place
from bot.domain.services import Services
from bot.domain.stop import StopWatch
from bot.models import DeployRequest
from bot.ports.deployer import Deployer, DeployJob, JobAction, Progress, ProgressSink
from bot.scrub import scrub


@dataclass(frozen=True)
class Run:
    services: Services
    request: DeployRequest
    environment: Environment
    board: Board
    stop: StopWatch

    def place(self, target: str) -> str:
        return place(target, self.request.environment)

    def deployer(self, target: str) -> Deployer:
        request = self.request
        return self.services.deployer_for(request.service, request.environment, target)

    def job(self, target: str, version: str = "", action: JobAction | None = None) -> DeployJob:
        """The job for ``target``: the request's version (and the commit bound to it), or, to
        undo it, ``version`` with ``action`` (what ran before: its commit is not known, and an
        undo never carries the approved one, even when the same tag is redeployed)."""
        request = self.request
        version = version or request.version
        return DeployJob(
            request_id=request.id,
            service=request.service,
            version=version,
            environment=request.environment,
            datacenter=target,
            action=action or request.action.value,
            commit=request.commit_sha if action is None and version == request.version else "",
        )

    def reporter(self, target: str) -> ProgressSink:
        """Where a tool's progress on ``target`` goes: onto the board, scrubbed."""

        async def report(event: Progress) -> None:
            await self.board.tell(StepEvent(target, detail=scrub(event.message), link=event.link))

        return report

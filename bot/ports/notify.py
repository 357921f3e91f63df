"""What the domain tells people, as a Protocol; the Slack and console versions live in handlers/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from bot.models import DeployRequest


class Notifier(Protocol):
    async def show(self, request_id: str, *, final: bool = False) -> None:
        """Post the request's card, or update it in place (coalesced; ``final`` always lands)."""

    async def tell(self, channel: str, user: str, text: str) -> None:
        """An ephemeral message to one person."""

    async def thread(self, request: DeployRequest, text: str) -> None:
        """A reply in the card's thread."""

    async def release_note(self, request_id: str) -> None:
        """Post the request's release note in the catalog's releases channel (its changelog
        is set), or update it in place; progress updates it too, with the card (``show``)."""

    async def released(self, request: DeployRequest) -> None:
        """The run ended: its release note's last update, and a summary of the run in the
        note's thread."""

    async def undone(self, request_id: str, by: DeployRequest) -> None:
        """The release note of ``request_id`` says that rollback ``by`` undid it."""

    async def post_blocks(
        self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None = None
    ) -> str | None:
        """A new message (e.g. a metrics card); its ts, None when Slack would not take it."""

    async def upload_file(self, channel: str, upload: Upload) -> bool:
        """Share a file in a channel (or a thread); whether Slack took it."""

    async def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        """Open a modal for the person whose click gave ``trigger_id``; whether Slack did."""


@dataclass(frozen=True)
class Upload:
    """A file to share: its name, bytes and title, with an optional comment or thread."""

    filename: str
    content: bytes
    title: str
    comment: str = ""
    thread_ts: str | None = None


class Directory(Protocol):
    async def groups_of(
        self, user: str, groups: list[str], seconds: float | None = None
    ) -> set[str] | None:
        """Which of ``groups`` the user belongs to, told within ``seconds`` in all (None: the
        directory's own limit); None when it cannot be told in time."""

    async def warm(self, groups: list[str]) -> None:
        """Look these groups' members up ahead of need (a new request's approvers)."""


class JobQueue(Protocol):
    async def start(self, request_id: str) -> None:
        """Have a worker run this queued request (it posts the card if there is none yet)."""

    async def announce(self, request_id: str) -> None:
        """Have a worker post this new request's card."""

    async def record_external(self, project_id: int, deployment_id: int) -> None:
        """Have a worker look up a GitLab deployment and record it if shipbot did not run it."""

    async def metrics(self, job: MetricsJob) -> None:
        """Have a worker post a metrics card (and its chart) in a channel."""

    async def start_at(self, request_id: str, at: float) -> None:
        """Have a worker try this queued request again at ``at`` (epoch seconds): a freeze
        held it back until then."""

    def handover(self, request_id: str) -> Handover | None:
        """A new request's jobs, for the store to write in the same step as its record (one
        write for both); None when this queue cannot be written that way (then the caller
        enqueues after the record, with ``start`` or ``announce``)."""


@dataclass(frozen=True)
class StoredJob:
    """One job as a Redis-backed queue keeps it: its data under ``key`` (expiring after
    ``expires_ms``) and its id in the sorted set ``queue``, scored by when to run (epoch ms).
    It is not written when ``key`` or ``result_key`` (a job that ran) exists already."""

    id: str
    key: str
    result_key: str
    queue: str
    data: bytes  # serialized as the queue's workers read it
    run_at_ms: int
    expires_ms: int


@dataclass(frozen=True)
class Handover:
    """The job a new request's record carries: ``start`` when it is queued at the head of its
    lane, ``announce`` (post its card) otherwise."""

    announce: StoredJob
    start: StoredJob


@dataclass(frozen=True)
class MetricsJob:
    """A /metrics card to post: the channel, who asked (told directly if the card cannot be
    posted there), the service ("" for all) and the period's days (ISO dates, both included,
    and its label), fixed when it was asked; ``delivery`` names the Slack delivery that asked,
    so a retried command posts once."""

    channel: str
    user: str
    service: str
    first: str
    last: str
    label: str
    delivery: str = ""

    def args(self) -> tuple[str, ...]:
        return (
            self.channel,
            self.user,
            self.service,
            self.first,
            self.last,
            self.label,
            self.delivery,
        )

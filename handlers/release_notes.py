"""Block Kit of a release note (one message per run in the releases channel, updated in place)
and the summary of the run posted in its thread, built with slack_sdk's block models."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.policy import mention
from bot.models import Action, ChangeLine, Changelog, DeployRequest, State, Step
from handlers.blocks import (
    STEP_ICONS,
    Rendered,
    dumped,
    duration_words,
    emergency_block,
    labelled,
    people,
    targets_text,
)
from handlers.mrkdwn import plain


def release_note(request: DeployRequest, undone_by: DeployRequest | None = None) -> Rendered:
    """The note of one release: what it is, where it got to, and what it changed;
    ``undone_by``: the rollback that undid it."""
    title = note_title(request, undone_by is not None)
    blocks: list[Block] = [
        HeaderBlock(text=title[:150]),
        *emergency_block(request),
        SectionBlock(text=MarkdownTextObject(text=_progress(request, undone_by))),
        SectionBlock(fields=_facts(request)),
    ]
    if request.changelog is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=changes_text(request.changelog))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Request `{request.id}`")]))
    return title, dumped(blocks)


def note_title(request: DeployRequest, undone: bool = False) -> str:
    """What the release is and where it got to: ``Releasing web-h5 v2 to prod``, ``Released
    ...``, ``Release of ... failed``, ``Released ..., rolled back``."""
    rollback = request.action is Action.ROLLBACK
    what = (
        f"{request.service} in {request.environment} to {request.version} "
        f"(from {request.undoes_version})"
        if rollback
        else f"{request.service} {request.version} to {request.environment}"
    )
    done = f"Rolled back {what}" if rollback else f"Released {what}"
    if undone or request.state is State.ROLLED_BACK:
        return f"{done}, since rolled back"
    match request.state:
        case State.SUCCEEDED:
            return done
        case State.FAILED:
            return f"{'Rollback' if rollback else 'Release'} of {what} failed"
    return f"Rolling back {what}" if rollback else f"Releasing {what}"


def changes_text(changelog: Changelog) -> str:
    """The changes: linked titles and authors, at most about 20 lines, then the full compare;
    or what is missing, in a few words."""
    heading = _heading(changelog)
    if changelog.missing:
        return f"{heading}: unknown ({changelog.missing})."
    if not changelog.lines:
        return f"{heading}: none."
    counted = _counted(changelog)
    lines = [f"{heading} ({counted}):", *(_line(line) for line in changelog.lines)]
    if changelog.more:
        lines.append(f"…and {changelog.more} more.")
    if changelog.compare_url:
        lines.append(f"<{changelog.compare_url}|Full compare>")
    return "\n".join(lines)


def run_summary(request: DeployRequest) -> str:
    """The thread reply under the note once the run ended: how, per data centre how long and
    what changed, and who approved."""
    approved = people(request.approvers) or "nobody (none needed)"
    lines = [
        f"*{note_title(request)}* in {duration_words(request.duration)}; "
        f"asked by {mention(request.requester)}, approved by {approved}.",
        *(_step_line(step, request.environment) for step in request.steps),
    ]
    if request.failure:
        lines.append(f"Why: {request.failure}")
    return "\n".join(lines)


def rolled_back_line(by: DeployRequest) -> str:
    when = int(by.finished_at or by.started_at)
    at = f"<!date^{when}^{{date_short_pretty}} {{time}}|{_utc(when)}>"
    return f"↩️ *Rolled back* at {at} by {mention(by.requester)}."


def _utc(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _progress(request: DeployRequest, undone_by: DeployRequest | None) -> str:
    if undone_by is not None:
        return rolled_back_line(undone_by)
    steps = " · ".join(
        f"{STEP_ICONS[s.status]} `{s.target or request.environment}`" for s in request.steps
    )
    rollback = request.action is Action.ROLLBACK
    match request.state:
        case State.RUNNING:
            head = "↩️ *Rolling back*" if rollback else "🚀 *Rolling out*"
        case State.SUCCEEDED:
            done = "Rolled back" if rollback else "Released"
            head = f"✅ *{done}* in {duration_words(request.duration)}"
        case State.FAILED:
            head = f"❌ *Failed*: {request.failure}"
        case State.ROLLED_BACK:
            head = "↩️ *Rolled back*"
        case _:
            head = f"*{request.state.value.replace('_', ' ').capitalize()}*"
    return f"{head}\n{steps}" if steps else head


def _facts(request: DeployRequest) -> list[MarkdownTextObject]:
    facts = [
        labelled("Requested by", mention(request.requester)),
        labelled("Approved by", people(request.approvers) or "no approval needed"),
        labelled("Data centres", targets_text(request)),
        labelled("Before", f"`{_before(request)}`" if _before(request) else "nothing"),
    ]
    if request.reason:
        facts.append(labelled("Reason", request.reason))
    return facts


def _before(request: DeployRequest) -> str:
    changelog = request.changelog
    if changelog is None:
        return request.undoes_version
    return changelog.newer if changelog.taken_out else changelog.older


def _heading(changelog: Changelog) -> str:
    if changelog.taken_out:
        return f"*Changes taken out* (`{changelog.newer}` → `{changelog.older}`)"
    if not changelog.older:
        return f"*Changes in `{changelog.newer}`* (first release)"
    return f"*Changes since `{changelog.older}`*"


def _counted(changelog: Changelog) -> str:
    counts = [(changelog.merge_requests, "merge request"), (changelog.commits, "commit")]
    return ", ".join(f"{n} {what}{'s' if n != 1 else ''}" for n, what in counts if n)


def _line(line: ChangeLine) -> str:
    title = plain(line.title)
    linked = f"<{line.url}|{line.ref} {title}>" if line.url else f"{line.ref} {title}"
    author = plain(f"@{line.author}" if line.merge_request and line.author else line.author)
    return f"• {linked}" + (f" — {author}" if author else "")


def _step_line(step: Step, environment: str) -> str:
    name = step.target or environment
    took = f" in {duration_words(step.duration)}" if step.duration else ""
    said = [p for p in (step.failure, step.undo, step.detail) if p]
    what = f" — {'; '.join(said)}" if said else ""
    return f"{STEP_ICONS[step.status]} `{name}` {step.status.value.replace('_', ' ')}{took}{what}"

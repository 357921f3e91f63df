"""Block Kit for shipbot's messages, built with slack_sdk's block models."""

from __future__ import annotations

import time
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain.policy import mention
from bot.models import UNASKED, Action, DeployRequest, State, Step, StepStatus, Workers
from handlers.mrkdwn import plain
from handlers.routes import APPROVE, CANCEL, REJECT, STOP
from handlers.rule_blocks import rule_lines, shows_rules

Rendered = tuple[str, list[dict[str, Any]]]

STEP_ICONS = {
    StepStatus.WAITING: "⚪",
    StepStatus.RUNNING: "🔄",
    StepStatus.SUCCEEDED: "✅",
    StepStatus.FAILED: "❌",
    StepStatus.SKIPPED: "⏭️",
    StepStatus.ROLLING_BACK: "↩️",
    StepStatus.ROLLED_BACK: "↩️",
}


def card(request: DeployRequest, approvers: list[str], workers: Workers = UNASKED) -> Rendered:
    """The one message that follows a request from asking to done; ``workers`` matters while
    it is queued (nobody runs it while no worker is alive)."""
    status = _status(request, approvers)
    if request.state in (State.QUEUED, State.APPROVED) and not workers.alive:
        status += "\n" + no_worker(workers)
    blocks: list[Block] = [
        HeaderBlock(text=title(request)[:150]),
        *emergency_block(request),
        SectionBlock(fields=_facts(request)),
        SectionBlock(text=MarkdownTextObject(text=status)),
    ]
    if request.state is State.PENDING:
        blocks.append(_buttons(request.id))
    elif request.state is State.QUEUED:
        blocks.append(_cancel_queued_button(request))
    elif request.state is State.RUNNING and not request.stop_requested_by:
        blocks.append(_stop_button(request))
    blocks.append(_footer(request))
    return f"{title(request)}: {request.state.value.replace('_', ' ')}", dumped(blocks)


def no_worker(workers: Workers) -> str:
    """What to say while no worker is alive: queued deploys wait for one."""
    if workers.alive:
        return ""
    since = "has ever been seen"
    if workers.last_seen is not None:
        since = f"has been seen for {duration_words(time.time() - workers.last_seen)}"
    return (
        f"⚠️ No shipbot worker {since}: new cards and deploys wait until one runs "
        "(`shipbot worker`). Please tell the operators."
    )


def title(request: DeployRequest) -> str:
    if request.action is Action.ROLLBACK:
        return f"Roll back {request.service} in {request.environment} to {request.version}"
    return f"Deploy {request.service} {request.version} → {request.environment}"


def _facts(request: DeployRequest) -> list[MarkdownTextObject]:
    facts = [
        labelled("Requested by", mention(request.requester)),
        labelled("Service", f"`{request.service}`"),
        labelled("Version", f"`{request.version}`"),
        labelled("Environment", f"`{request.environment}`"),
        labelled("Data centres", targets_text(request)),
    ]
    if request.undoes:
        facts.append(labelled("Undoes", f"`{request.undoes_version}` (`{request.undoes}`)"))
    if request.hotfix:
        facts.append(labelled("Hotfix", "unplanned: mends what the release before it broke"))
    if request.reason:
        facts.append(labelled("Reason", request.reason))
    if commit := commit_text(request):
        facts.append(labelled("Commit", commit))
    return facts


def emergency_line(emergency: str) -> str:
    return f"🚨 *Emergency (freeze broken)*: {emergency}" if emergency else ""


def emergency_block(request: DeployRequest) -> list[Block]:
    """A break-glass request says so first, with its reason."""
    line = emergency_line(request.emergency)
    return [SectionBlock(text=MarkdownTextObject(text=line))] if line else []


def commit_text(request: DeployRequest) -> str:
    """The commit its version's tag named when asked for (short, linked), or why unknown."""
    if request.commit_sha:
        short = request.commit_sha[:8]
        return f"<{request.commit_url}|`{short}`>" if request.commit_url else f"`{short}`"
    return f"unknown ({request.commit_note})" if request.commit_note else ""


def _status(request: DeployRequest, approvers: list[str]) -> str:
    lines = [_headline(request, approvers), *rule_lines(request)]
    if request.state in (State.RUNNING, State.SUCCEEDED, State.FAILED):
        lines += [_step_line(step, request.environment) for step in request.steps]
    return "\n".join(lines)


def _headline(request: DeployRequest, approvers: list[str]) -> str:
    approved = f" Approved by {people(request.approvers)}." if request.approvers else ""
    rollback = request.action is Action.ROLLBACK
    match request.state:
        case State.PENDING:
            return (
                f"⏳ *Waiting for approval*: {len(request.assigned) or len(request.approvers)} "
                f"of {request.approvals_needed}.{approved}"
                + ("" if shows_rules(request) else f" Approvers: {people(approvers)}.")
            )
        case State.QUEUED | State.APPROVED if request.waiting and not request.queued_behind:
            return f"🧊 *Approved; waiting*: {request.waiting}.{approved}"
        case State.QUEUED | State.APPROVED:
            behind = f"behind `{request.queued_behind}`" if request.queued_behind else "to start"
            return f"🕒 *Queued* {behind}.{approved}"
        case State.RUNNING if request.stop_requested_by:
            return f"🛑 *Stopping*, asked by {mention(request.stop_requested_by)}.{approved}"
        case State.RUNNING if rollback:
            return f"↩️ *Rolling back* to `{request.version}`.{approved}"
        case State.RUNNING:
            return f"🚀 *Deploying*.{approved}"
        case State.SUCCEEDED if rollback:
            took = duration_words(request.duration)
            return f"✅ *Rolled back to `{request.version}` in {took}*.{approved}"
        case State.SUCCEEDED:
            return f"✅ *Deployed in {duration_words(request.duration)}*.{approved}"
        case State.FAILED if request.not_run:
            return f"⏭️ *Not run*: {request.failure}{approved}"
        case State.FAILED:
            what = "Rollback failed" if rollback else "Failed"
            return f"❌ *{what}*: {request.failure}{approved}"
        case State.REJECTED:
            why = f": {plain(request.reject_reason)}" if request.reject_reason else "."
            return f"🚫 *Rejected* by {mention(request.rejected_by)}{why}"
        case State.CANCELLED:
            by = request.cancelled_by or request.requester
            return f"✖️ *Cancelled* by {mention(by)}; nothing was deployed."
        case State.EXPIRED:
            return "⌛ *Expired*: not enough approvals in time; nothing was deployed."
    return f"*{request.state.value.replace('_', ' ').capitalize()}*."


def _step_line(step: Step, environment: str) -> str:
    """Icon, target and status; then why it failed (the first failure), what undoing it did,
    or the tool's latest line."""
    moving = step.status in (StepStatus.RUNNING, StepStatus.ROLLING_BACK)
    said = [p for p in (step.failure, step.undo, step.detail if moving else "") if p]
    detail = f" — {'; '.join(said)}" if said else ""
    link = f" (<{step.link}|details>)" if step.link else ""
    name = step.target or environment
    status = step.status.value.replace("_", " ")
    return f"{STEP_ICONS[step.status]} `{name}` {status}{detail}{link}"


def _buttons(request_id: str) -> ActionsBlock:
    """Approve, Reject (its modal asks why, and confirms), Cancel."""
    return ActionsBlock(
        block_id=f"decide:{request_id}",
        elements=[
            ButtonElement(text="Approve", action_id=APPROVE, value=request_id, style="primary"),
            ButtonElement(text="Reject", action_id=REJECT, value=request_id, style="danger"),
            ButtonElement(text="Cancel", action_id=CANCEL, value=request_id),
        ],
    )


def _cancel_queued_button(request: DeployRequest) -> ActionsBlock:
    confirm = ConfirmObject(
        title="Cancel this queued request?",
        text="It leaves the queue and nothing is deployed.",
        confirm="Cancel it",
        deny="Keep it",
    )
    cancel = ButtonElement(text="Cancel", action_id=CANCEL, value=request.id, confirm=confirm)
    return ActionsBlock(block_id=f"queued:{request.id}", elements=[cancel])


def _stop_button(request: DeployRequest) -> ActionsBlock:
    confirm = ConfirmObject(
        title="Stop this deploy?",
        text="The run in progress is stopped, and what it changed is rolled back "
        "(unless the catalog turns that off).",
        confirm="Stop",
        deny="Keep going",
    )
    stop = ButtonElement(
        text="Stop", action_id=STOP, value=request.id, style="danger", confirm=confirm
    )
    return ActionsBlock(block_id=f"stop:{request.id}", elements=[stop])


def _footer(request: DeployRequest) -> ContextBlock:
    text = f"Request `{request.id}` · catalog entry `{request.catalog_revision}`"
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def labelled(label: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=f"*{label}*\n{value}")


def targets_text(request: DeployRequest) -> str:
    return " → ".join(f"`{t}`" for t in request.targets if t) or "all hosts"


def people(ids: list[str]) -> str:
    return ", ".join(mention(i) for i in ids)


def duration_words(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def dumped(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]

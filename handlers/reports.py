"""Text for /shipbot status, history and audit (Slack mrkdwn)."""

from __future__ import annotations

import time

from bot.models import AuditEvent, DeployRequest, HistoryEntry
from bot.policy import mention
from bot.reports import EnvironmentStatus


def status_text(service: str, environments: list[EnvironmentStatus]) -> str:
    lines = [f"*{service}*"]
    for env in environments:
        lines.append(f"• `{env.environment}`: {_running(env)}")
        lines += [f"    ◦ {_open_line(r)}" for r in env.open]
    return "\n".join(lines)


def history_text(service: str, entries: list[HistoryEntry]) -> str:
    if not entries:
        return f"No deploys of *{service}* recorded yet."
    lines = [f"*Last deploys of {service}*"]
    lines += [_history_line(e) for e in entries]
    return "\n".join(lines)


def audit_text(events: list[AuditEvent]) -> str:
    if not events:
        return "No audit events match."
    lines = ["*Audit trail* (newest first)"]
    lines += [_audit_line(e) for e in events]
    return "\n".join(lines)


def _running(env: EnvironmentStatus) -> str:
    if not env.running:
        return "nothing deployed by shipbot yet"
    return ", ".join(
        f"{dc or 'all'} `{d.version}` ({_when(d.at)} by {mention(d.requester)})"
        for dc, d in env.running.items()
    )


def _open_line(request: DeployRequest) -> str:
    state = request.state.value
    if request.queued_behind:
        state += f" behind `{request.queued_behind}`"
    return f"`{request.id}` {request.version} {state}, asked by {mention(request.requester)}"


def _history_line(entry: HistoryEntry) -> str:
    approvers = ", ".join(mention(a) for a in entry.approvers) or "none needed"
    who = f"{mention(entry.requester)}, approved by {approvers}"
    if entry.source:
        who = f"{entry.requester}, outside shipbot"
    return (
        f"• {_when(entry.finished_at)} `{entry.environment}` `{entry.version}` "
        f"*{entry.state.value}* — {who} (`{entry.request_id}`)"
    )


def _audit_line(event: AuditEvent) -> str:
    subject = " ".join(p for p in (event.service, event.environment, event.request_id) if p)
    detail = f": {event.detail}" if event.detail else ""
    return f"• {_when(event.at)} {mention(event.actor)} *{event.event}* {subject}{detail}"


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))

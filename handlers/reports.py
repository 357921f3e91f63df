"""Text for /shipbot status, history and audit (Slack mrkdwn)."""

from __future__ import annotations

import time

from bot.catalog.model import Catalog, Environment
from bot.domain.policy import mention
from bot.domain.reports import AUDIT_WINDOW, AuditPage, EnvironmentStatus
from bot.models import Action, AuditEvent, DeployRequest, HistoryEntry, State, Workers
from handlers.blocks import emergency_line, no_worker
from handlers.locks import kept_lines
from handlers.mrkdwn import plain


def workers_text(workers: Workers) -> str:
    """The first line of /shipbot status: whether any worker will run what is queued."""
    if not workers.alive:
        return no_worker(workers)
    return f"Workers alive: {workers.alive}."


def services_text(catalog: Catalog) -> str:
    """/shipbot services: each service, its deployer, and each environment's rule and order."""
    lines = ["*Services* (what you can `/deploy`)"]
    for name, service in catalog.services.items():
        environments = "; ".join(
            _environment_line(env_name, env) for env_name, env in service.environments.items()
        )
        lines.append(f"• `{name}` ({service.deployer}): {environments}")
    return "\n".join(lines)


def _environment_line(name: str, env: Environment) -> str:
    rule = "no approval needed"
    if env.approvals:
        plural = "s" if env.approvals != 1 else ""
        rule = f"{env.approvals} approval{plural} from {', '.join(map(mention, env.approvers))}"
    order = " → ".join(t for t in env.targets() if t)
    return f"`{name}` {rule}" + (f", {order}" if order else "")


def status_text(catalog: Catalog, service: str, environments: list[EnvironmentStatus]) -> str:
    lines = [f"*{service}*"]
    for env in environments:
        lines.append(f"• `{env.environment}`: {_running(env)}")
        lines += [f"    ◦ {line}" for line in kept_lines(env, catalog)]
        lines += [f"    ◦ {_open_line(r)}" for r in env.open]
    return "\n".join(lines)


def history_text(service: str, entries: list[HistoryEntry]) -> str:
    if not entries:
        return f"No deploys of *{service}* recorded yet."
    lines = [f"*Last deploys of {service}*"]
    lines += [_history_line(e) for e in entries]
    return "\n".join(lines)


def audit_text(page: AuditPage, subject: str | None) -> str:
    if not page.events and subject:
        among = f" among the newest {AUDIT_WINDOW}" if page.windowed else ""
        return f"No audit events for `{subject}`{among}."
    if not page.events:
        return "The audit trail is empty."
    shown = len(page.events)
    head = "*Audit trail*" + (f" of `{subject}`" if subject else "") + " (newest first"
    if page.matched > shown:
        head += f"; the newest {shown} of {page.matched})"
        narrower = "`/shipbot audit <request-id>`" + ("" if subject else " or `<service>`")
        more = f"Narrow it with {narrower}."
    else:
        head, more = head + ")", ""
    return "\n".join([head, *(_audit_line(e) for e in page.events), *([more] if more else [])])


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
    what = (
        f"rollback to {request.version}" if request.action is Action.ROLLBACK else request.version
    )
    return f"`{request.id}` {what} {state}, asked by {mention(request.requester)}"


def _history_line(entry: HistoryEntry) -> str:
    approvers = ", ".join(mention(a) for a in entry.approvers) or "none needed"
    who = f"{mention(entry.requester)}, approved by {approvers}"
    if entry.source:
        who = f"{entry.requester}, outside shipbot"
    if entry.state is State.REJECTED:
        why = f": {plain(entry.reject_reason)}" if entry.reject_reason else ""
        who = f"asked by {mention(entry.requester)}, rejected by {mention(entry.rejected_by)}{why}"
    emergency = f" {emergency_line(entry.emergency)}" if entry.emergency else ""
    return (
        f"• {_when(entry.finished_at)} `{entry.environment}` {_outcome(entry)} — {who} "
        f"(`{entry.request_id}`){emergency}"
    )


def _outcome(entry: HistoryEntry) -> str:
    """``v2 *succeeded*``, ``v2 *rolled back*`` (undone later), ``*rolled back to* v1``."""
    state = "not run" if entry.not_run else entry.state.value.replace("_", " ")
    if entry.action is not Action.ROLLBACK:
        return f"`{entry.version}` *{state}*"
    source = f" (from `{entry.undoes_version}`)" if entry.undoes_version else ""
    if entry.state is State.SUCCEEDED:
        return f"*rolled back to* `{entry.version}`{source}"
    return f"rollback to `{entry.version}`{source} *{state}*"


TYPED_IN_A_MODAL = ("rejected",)  # details that are raw text (a slash command's come escaped)


def _audit_line(event: AuditEvent) -> str:
    subject = " ".join(p for p in (event.service, event.environment, event.request_id) if p)
    typed = plain(event.detail) if event.event in TYPED_IN_A_MODAL else event.detail
    detail = f": {typed}" if event.detail else ""
    return f"• {_when(event.at)} {mention(event.actor)} *{event.event}* {subject}{detail}"


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))

"""The card's lines for a request's approval rules: each rule, how far it is met, and by whom.

• *Approvers* (<@U0ALICE>, <!subteam^S0CHANGE>): 1 of 1 ✅ <@U0CAROL>
• *Rule 2* (<!subteam^S0BIZ>, <@U0CTO>): 0 of 1
• *🚨 Emergency* (<!subteam^S0ONCALL>): 0 of 1

A rule of ``approval_rules`` with a ``name`` is shown by it instead of "Rule 2".
"""

from __future__ import annotations

from bot.domain.policy import mention
from bot.models import DeployRequest, Rule, State
from handlers.mrkdwn import plain

LABELS = {"approvers": "Approvers", "rule": "Rule", "emergency": "🚨 Emergency"}
SHOWN_WHILE = (State.PENDING, State.APPROVED, State.QUEUED)


def shows_rules(request: DeployRequest) -> bool:
    """Whether the card lists the rules: several, or an emergency's."""
    several = len(request.rules) > 1 or any(r.kind == "emergency" for r in request.rules)
    return several and request.state in SHOWN_WHILE


def rule_lines(request: DeployRequest) -> list[str]:
    if not shows_rules(request):
        return []
    return [_line(request, index, rule) for index, rule in enumerate(request.rules)]


def _line(request: DeployRequest, index: int, rule: Rule) -> str:
    met_by = [who for who, met in request.assigned.items() if met == index]
    label = LABELS.get(rule.kind, rule.kind)
    label += f" {index + 1}" if rule.kind == "rule" else ""
    label = plain(rule.name) if rule.name else label
    listed = ", ".join(mention(a) for a in rule.approvers)
    done = " ✅" if len(met_by) >= rule.approvals else ""
    by = (" " + ", ".join(mention(w) for w in met_by)) if met_by else ""
    return f"• *{label}* ({listed}): {len(met_by)} of {rule.approvals}{done}{by}"

"""Which approval rules a request must meet, and which of them a person may count for.

A request carries its rules (:class:`bot.models.Rule`), fixed when it is made:

- the environment's own ``approvals`` (a rollback's: ``rollback_approvals`` when set) from its
  ``approvers``, when that count is above 0;
- each of its ``approval_rules`` (with its ``name``, if any, for the card);
- for an emergency (``--emergency``): without ``emergency.approvals``, all of the above and
  one more approval, from ``emergency.approvers`` (default: the environment's ``approvers``);
  with ``emergency.approvals: N``, instead of all of the above, N in all: one from
  ``emergency.approvers`` and N-1 from anyone who approves in that environment (its approvers,
  any rule's, the emergency approvers).

Every approval comes from a distinct person, counts for at most one rule, and never from the
requester. Who counts for which rule is decided atomically in Redis (approve.lua), from the
rules each approver is eligible for, which the domain resolves here.
"""

from __future__ import annotations

from bot.catalog.governance import Emergency
from bot.catalog.model import Environment
from bot.models import DeployRequest, Rule

APPROVERS, RULE, EMERGENCY = "approvers", "rule", "emergency"


def rules_for(env: Environment, rollback: bool, emergency: bool) -> list[Rule]:
    """The rules a new request of ``env`` must meet."""
    base = env.approvals_for(rollback)
    rules = [Rule(approvals=base, approvers=list(env.approvers))] if base else []
    rules += [Rule(approvals=r.approvals, approvers=list(r.approvers), kind=RULE,
                   name=r.name or "") for r in env.approval_rules]  # fmt: skip
    if not emergency:
        return rules
    glass = env.emergency or Emergency()
    oncall = list(glass.approvers or env.approvers)
    extra = Rule(approvals=1, approvers=oncall, kind=EMERGENCY)
    if glass.approvals is None:
        return [*rules, extra]
    anyone = _unique([*env.approvers, *(a for r in rules for a in r.approvers), *oncall])
    more = glass.approvals - 1
    rest = [Rule(approvals=more, approvers=anyone)] if more else []
    return [*rest, extra]


def rules_of(request: DeployRequest, env_approvers: list[str]) -> list[Rule]:
    """The request's rules; one made before rules were kept has one, from the catalog."""
    if request.rules or not request.approvals_needed:
        return request.rules
    return [Rule(approvals=request.approvals_needed, approvers=list(env_approvers))]


def everyone(rules: list[Rule]) -> list[str]:
    """Every user and group any of the rules lists, once each."""
    return _unique([a for rule in rules for a in rule.approvers])


def groups_to_ask(rules: list[Rule], user: str) -> list[str]:
    """The groups whose membership decides which rules ``user`` counts for: those of the rules
    that do not list them by ID."""
    return _unique(
        [a for r in rules if user not in r.approvers for a in r.approvers if a.startswith("S")]
    )


def eligible(rules: list[Rule], user: str, groups: set[str]) -> list[int]:
    """The indices of the rules ``user`` may count for: listed, or in a listed group."""
    return [i for i, r in enumerate(rules) if user in r.approvers or groups & set(r.approvers)]


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))

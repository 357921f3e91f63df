"""Who may approve what. Pure functions; the callers resolve group membership first.

Fail closed: when the approvers include user groups and the caller could not resolve the
user's membership, it passes ``None`` and the answer is no.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import DeployRequest

_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class Refusal:
    """Why someone may not decide: ``why`` in plain words for the audit trail, ``say`` for them."""

    why: str
    say: str


def mention(slack_id: str) -> str:
    """Slack mrkdwn for a user (U.../W...) or a user group (S...); other actors as they are."""
    if not _SLACK_ID.match(slack_id):
        return slack_id
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def group_ids(approvers: list[str]) -> list[str]:
    return [a for a in approvers if a.startswith("S")]


def approval_refusal(
    request: DeployRequest, user: str, approvers: list[str], groups_of_user: set[str] | None
) -> Refusal | None:
    """Why ``user`` may not approve ``request``, or None when they may.

    ``groups_of_user``: which of the approvers' user groups the user is in; None when Slack
    could not tell, which only matters when the approvers include groups."""
    if user == request.requester:
        asked = f"You asked for this {request.action.value}, so you can't approve it. "
        return Refusal("asked for it", asked + _who(approvers))
    if user in approvers:
        return None
    listed = set(group_ids(approvers))
    if listed and groups_of_user is None:
        return groups_unavailable(approvers)
    if listed & (groups_of_user or set()):
        return None
    return Refusal(
        "not an approver",
        f"You're not an approver for {request.service} in {request.environment}. "
        + _who(approvers),
    )


def groups_unavailable(approvers: list[str]) -> Refusal:
    """Slack could not say which of the groups that decide it the user is in (fail closed)."""
    return Refusal(
        "user groups unavailable",
        "shipbot couldn't check your user groups with Slack, so it can't count your "
        "decision. Please try again in a minute. " + _who(approvers),
    )


def _who(approvers: list[str]) -> str:
    return "Its approvers are " + ", ".join(mention(a) for a in approvers) + "."

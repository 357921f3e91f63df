"""Who may approve what. Pure functions; the callers resolve group membership first.

Fail closed: a caller that cannot resolve membership passes ``None`` and the answer is no.
"""

from __future__ import annotations

import re

from bot.models import DeployRequest

_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")


def mention(slack_id: str) -> str:
    """Slack mrkdwn for a user (U.../W...) or a user group (S...); other actors as they are."""
    if not _SLACK_ID.match(slack_id):
        return slack_id
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def group_ids(approvers: list[str]) -> list[str]:
    return [a for a in approvers if a.startswith("S")]


def approval_refusal(
    request: DeployRequest, user: str, approvers: list[str], groups_of_user: set[str] | None
) -> str | None:
    """Why ``user`` may not approve ``request``, or None when they may."""
    if user == request.requester:
        return "You requested this deploy, so you can't approve it: " + _who(approvers)
    if user in approvers:
        return None
    if groups_of_user is None:
        return (
            "shipbot couldn't check your user groups with Slack, so it can't count your approval."
        )
    if groups_of_user & set(group_ids(approvers)):
        return None
    return f"You're not an approver for {request.service} in {request.environment}. " + _who(
        approvers
    )


def _who(approvers: list[str]) -> str:
    return "approvers are " + ", ".join(mention(a) for a in approvers) + "."

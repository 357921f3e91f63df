"""Who may approve: the requester never, listed users and listed groups' members yes, doubt no."""

from __future__ import annotations

from bot.domain.policy import approval_refusal, mention
from bot.models import DeployRequest

APPROVERS = ["U0ALICE", "U0BOB", "S0CHANGE"]


def request() -> DeployRequest:
    return DeployRequest(
        id="d-1",
        service="web-h5",
        environment="prod",
        version="v1",
        requester="U0ALICE",
        channel="C0DEPLOY",
        catalog_revision="abc",
        approvals_needed=2,
    )


def test_requester_may_not_approve_even_when_listed() -> None:
    """Listed or not, the requester is refused, and told who can approve."""
    refusal = approval_refusal(request(), "U0ALICE", APPROVERS, set())
    assert refusal is not None and "can't approve it" in refusal.say and "<@U0BOB>" in refusal.say


def test_listed_user_may_approve() -> None:
    """A user ID in the list approves without any group lookup."""
    assert None is approval_refusal(request(), "U0BOB", APPROVERS, None)


def test_member_of_listed_group_may_approve() -> None:
    """Membership of a listed S... group is enough."""
    assert None is approval_refusal(request(), "U0CAROL", APPROVERS, {"S0CHANGE"})


def test_unlisted_user_is_refused() -> None:
    """Not listed and in no listed group: refused, naming service and environment."""
    refusal = approval_refusal(request(), "U0MALLORY", APPROVERS, set())
    assert refusal is not None and "not an approver for web-h5 in prod" in refusal.say


def test_unknown_membership_fails_closed() -> None:
    """When groups could not be checked the answer is no."""
    refusal = approval_refusal(request(), "U0CAROL", APPROVERS, None)
    assert refusal is not None and "couldn't check" in refusal.say


def test_no_groups_listed_means_no_group_lookup_is_needed() -> None:
    """Approvers without user groups: an unlisted user is simply not an approver, even when
    membership is unknown (None), and is told who is."""
    refusal = approval_refusal(request(), "U0MALLORY", ["U0ALICE", "U0BOB"], None)
    assert refusal is not None and "not an approver" == refusal.why
    expected = "You're not an approver for web-h5 in prod. Its approvers are <@U0ALICE>, <@U0BOB>."
    assert expected == refusal.say


def test_mentions_users_groups_and_other_actors() -> None:
    """Users and groups become Slack mentions; workers and others stay as they are."""
    expected = ["<@U0BOB>", "<!subteam^S0CHANGE>", "worker:host:1"]
    assert expected == [mention("U0BOB"), mention("S0CHANGE"), mention("worker:host:1")]
